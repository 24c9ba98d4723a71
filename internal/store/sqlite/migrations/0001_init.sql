-- 0001: the first schema of tessera.
--
-- Conventions, kept so that the PostgreSQL engine's migrations can mirror
-- this file table for table:
--   * every row that belongs to a tenant has tenant_id, and every primary
--     key and unique index of such a table starts with it;
--   * times are INTEGER microseconds since the Unix epoch, UTC (PostgreSQL's
--     timestamptz has the same precision); durations INTEGER nanoseconds;
--   * booleans are INTEGER 0/1;
--   * the nested parts of an application are JSON text.

CREATE TABLE tenants (
    id           TEXT    NOT NULL PRIMARY KEY,
    domain       TEXT    NOT NULL,
    -- domain_key is the lower-cased domain, computed by the store in Go so
    -- that every engine folds case the same way.
    domain_key   TEXT    NOT NULL UNIQUE,
    display_name TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE applications (
    tenant_id                     TEXT    NOT NULL REFERENCES tenants (id),
    app_id                        TEXT    NOT NULL,
    object_id                     TEXT    NOT NULL,
    display_name                  TEXT    NOT NULL,
    identifier_uris               TEXT    NOT NULL, -- JSON array, in the caller's order
    scopes                        TEXT    NOT NULL, -- JSON
    app_roles                     TEXT    NOT NULL, -- JSON
    access_token_accepted_version INTEGER NOT NULL,
    access_token_lifetime         INTEGER NOT NULL, -- nanoseconds
    redirect_uris                 TEXT    NOT NULL, -- JSON
    public_client                 INTEGER NOT NULL,
    pre_authorized                TEXT    NOT NULL, -- JSON
    created_at                    INTEGER NOT NULL,
    updated_at                    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);

CREATE INDEX applications_by_creation ON applications (tenant_id, created_at, app_id);

-- One row per identifier URI: the primary key is what makes a URI unique in
-- its tenant, and the index the JSON column cannot be.
CREATE TABLE application_identifier_uris (
    tenant_id TEXT NOT NULL,
    uri       TEXT NOT NULL,
    app_id    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, uri),
    FOREIGN KEY (tenant_id, app_id) REFERENCES applications (tenant_id, app_id)
);

CREATE INDEX application_identifier_uris_by_app ON application_identifier_uris (tenant_id, app_id);

-- No foreign key to applications: a service principal may one day stand
-- for an application registered in another tenant, as in Entra.
CREATE TABLE service_principals (
    tenant_id                    TEXT    NOT NULL REFERENCES tenants (id),
    object_id                    TEXT    NOT NULL,
    app_id                       TEXT    NOT NULL,
    display_name                 TEXT    NOT NULL,
    enabled                      INTEGER NOT NULL,
    app_role_assignment_required INTEGER NOT NULL,
    created_at                   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id),
    UNIQUE (tenant_id, app_id)
);

CREATE INDEX service_principals_by_creation ON service_principals (tenant_id, created_at, object_id);

CREATE TABLE credentials (
    tenant_id       TEXT    NOT NULL,
    app_id          TEXT    NOT NULL,
    key_id          TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    hint            TEXT    NOT NULL,
    secret_hash     BLOB    NOT NULL,
    certificate_der BLOB    NOT NULL,
    thumbprint      TEXT    NOT NULL,
    thumbprint_s256 TEXT    NOT NULL,
    starts_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, app_id, key_id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES applications (tenant_id, app_id)
);

CREATE INDEX credentials_by_creation ON credentials (tenant_id, app_id, created_at, key_id);

CREATE TABLE role_assignments (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
    id              TEXT    NOT NULL,
    principal_id    TEXT    NOT NULL,
    principal_type  TEXT    NOT NULL,
    resource_id     TEXT    NOT NULL,
    resource_app_id TEXT    NOT NULL,
    app_role_id     TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, principal_id, resource_id, app_role_id)
);

CREATE INDEX role_assignments_by_principal ON role_assignments (tenant_id, principal_id, created_at, id);
CREATE INDEX role_assignments_by_resource ON role_assignments (tenant_id, resource_id, created_at, id);

-- Single-use values (client assertion jti, …) until they expire. No foreign
-- key to tenants: the check must not cost more than the insert.
CREATE TABLE consumed_values (
    tenant_id  TEXT    NOT NULL,
    value_key  TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, value_key)
);

CREATE INDEX consumed_values_by_expiry ON consumed_values (expires_at);

-- Signing keys are the one table outside any tenant: one key set signs for
-- every tenant, as in Entra.
CREATE TABLE signing_keys (
    id            TEXT    NOT NULL PRIMARY KEY,
    alg           TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    sealed        BLOB    NOT NULL,
    cert_der      BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    activated_at  INTEGER NOT NULL,
    publish_until INTEGER NOT NULL
);

-- At most one active and one next key, whatever a buggy caller does.
CREATE UNIQUE INDEX signing_keys_one_active_one_next ON signing_keys (state) WHERE state <> 'retired';
