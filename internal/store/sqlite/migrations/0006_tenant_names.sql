-- 0006: names one tenant cannot claim from another (issue 13).
--
-- Application ids are unique across tenants: a client id then names its
-- tenant, and no tenant can register another's (at /adfs, which names no
-- tenant, the client's registration decides it). Exempt are the
-- well-known ids every tenant registers for its built-in applications
-- (directory.IsWellKnownAppID: the Azure CLI's client id and Azure
-- Resource Manager's), which the directory lets no one else choose. A
-- database holding an id in two tenants cannot take this index: the
-- migration checks first and names them (migrate_checks.go).
CREATE UNIQUE INDEX applications_by_app_id ON applications (app_id)
    WHERE app_id NOT IN ('04b07795-8ddb-461a-bbee-02f9e1bf7b46', '797f4846-ba00-4fd7-ba43-dac1f8f63013');

-- The domains a tenant owns: its users' names end in one of them, and a
-- domain belongs to one tenant only (the primary key, across tenants, is
-- the rule; like tenants.domain_key it is folded in Go). A tenant's own
-- domain is its first, copied here for the tenants that exist; a tenant's
-- domains go with it.
CREATE TABLE tenant_domains (
    domain_key TEXT    NOT NULL PRIMARY KEY,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX tenant_domains_by_tenant ON tenant_domains (tenant_id, created_at, domain_key);

INSERT INTO tenant_domains (domain_key, tenant_id, domain, created_at)
    SELECT domain_key, id, domain, created_at FROM tenants;

-- Tenants are cached by domain (internal/store/cache): a domain added or
-- removed by another process must flush the cache as a tenant write does.
CREATE TRIGGER tenant_domains_ins_bumps_directory_version AFTER INSERT ON tenant_domains
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER tenant_domains_upd_bumps_directory_version AFTER UPDATE ON tenant_domains
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER tenant_domains_del_bumps_directory_version AFTER DELETE ON tenant_domains
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

-- A user's mail is sent (the email claim) only once an administrator has
-- verified it; the mail of users that exist is not.
ALTER TABLE users ADD COLUMN mail_verified INTEGER NOT NULL DEFAULT 0;

-- Failed sign-ins with names no user with a password has, counted as a
-- user's are (directory.RecordNameFailure), under a keyed hash of tenant
-- and name: never the name, which people type passwords into. No foreign
-- key to tenants, as for address_failures; Purge removes a row once
-- expires_at, when its count is forgotten anyway, is past.
CREATE TABLE name_failures (
    tenant_id       TEXT    NOT NULL,
    name_key        BLOB    NOT NULL,
    failed_sign_ins INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);

CREATE INDEX name_failures_by_expiry ON name_failures (expires_at);
