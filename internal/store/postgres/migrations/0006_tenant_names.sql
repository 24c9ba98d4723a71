-- 0006: names one tenant cannot claim from another (issue 13).
--
-- Table for table the SQLite engine's 0006, in the types of 0001 (see
-- there for the why of each part). A database holding an application id
-- in two tenants cannot take the unique index: the migration checks first
-- and names them (migrate_checks.go).
CREATE UNIQUE INDEX applications_by_app_id ON applications (app_id)
    WHERE app_id NOT IN ('04b07795-8ddb-461a-bbee-02f9e1bf7b46', '797f4846-ba00-4fd7-ba43-dac1f8f63013');

-- A domain belongs to one tenant only: the primary key, across tenants.
CREATE TABLE tenant_domains (
    domain_key text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id  text             NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain     text             NOT NULL,
    created_at timestamptz      NOT NULL
);

CREATE INDEX tenant_domains_by_tenant ON tenant_domains (tenant_id, created_at, domain_key);

INSERT INTO tenant_domains (domain_key, tenant_id, domain, created_at)
    SELECT domain_key, id, domain, created_at FROM tenants;

CREATE TRIGGER tenant_domains_bump_directory_version
    BEFORE INSERT OR UPDATE OR DELETE ON tenant_domains
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

ALTER TABLE users ADD COLUMN mail_verified boolean NOT NULL DEFAULT false;

CREATE TABLE name_failures (
    tenant_id       text        NOT NULL,
    name_key        bytea       NOT NULL,
    failed_sign_ins integer     NOT NULL,
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);

CREATE INDEX name_failures_by_expiry ON name_failures (expires_at);
