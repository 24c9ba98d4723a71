-- 0001: the directory (tenants, applications, service principals,
-- credentials, role assignments, users, consents), single-use values, and
-- the directory change counter.
--
-- Table for table the SQLite engine's schema (internal/store/sqlite/
-- migrations), so that the two engines give every column one meaning; in
-- PostgreSQL's own types (see the package comment): timestamptz, bigint
-- nanoseconds for durations, boolean, bytea, text[] for lists of strings and
-- jsonb for the nested parts of an application. Every row that belongs to a
-- tenant has tenant_id, and every primary key and unique index of such a
-- table starts with it. The ids that order lists after the creation time
-- are COLLATE "C": lists come in byte order, as from SQLite, whatever the
-- database's default collation.

CREATE TABLE tenants (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    domain       text             NOT NULL,
    -- The lower-cased domain, folded in Go (strings.ToLower) rather than by
    -- lower(), whose folding depends on the database's collation: both
    -- engines then agree on which domains are the same.
    domain_key   text             NOT NULL UNIQUE,
    display_name text             NOT NULL,
    -- Written from a type of the store (policyDoc in tenants.go);
    -- durations are integer nanoseconds in it.
    policy       jsonb            NOT NULL,
    created_at   timestamptz      NOT NULL
);

CREATE INDEX tenants_by_creation ON tenants (created_at, id);

CREATE TABLE applications (
    tenant_id                     text             NOT NULL REFERENCES tenants (id),
    app_id                        text COLLATE "C" NOT NULL,
    object_id                     text             NOT NULL,
    display_name                  text             NOT NULL,
    -- In the caller's order; application_identifier_uris makes them unique.
    identifier_uris               text[]           NOT NULL,
    scopes                        jsonb            NOT NULL,
    app_roles                     jsonb            NOT NULL,
    access_token_accepted_version integer          NOT NULL,
    access_token_lifetime         bigint           NOT NULL, -- nanoseconds
    redirect_uris                 text[]           NOT NULL,
    public_client                 boolean          NOT NULL,
    pre_authorized                jsonb            NOT NULL,
    created_at                    timestamptz      NOT NULL,
    updated_at                    timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);

CREATE INDEX applications_by_creation ON applications (tenant_id, created_at, app_id);

-- One row per identifier URI: its primary key is what makes a URI unique in
-- its tenant, which no constraint on the array column can. The rows go
-- with their application.
CREATE TABLE application_identifier_uris (
    tenant_id text NOT NULL,
    uri       text NOT NULL,
    app_id    text NOT NULL,
    PRIMARY KEY (tenant_id, uri),
    FOREIGN KEY (tenant_id, app_id) REFERENCES applications (tenant_id, app_id) ON DELETE CASCADE
);

CREATE INDEX application_identifier_uris_by_app ON application_identifier_uris (tenant_id, app_id);

-- No foreign key to applications: a service principal may one day stand
-- for an application registered in another tenant, as in Entra.
CREATE TABLE service_principals (
    tenant_id                    text             NOT NULL REFERENCES tenants (id),
    object_id                    text COLLATE "C" NOT NULL,
    app_id                       text             NOT NULL,
    display_name                 text             NOT NULL,
    enabled                      boolean          NOT NULL,
    app_role_assignment_required boolean          NOT NULL,
    created_at                   timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, object_id),
    UNIQUE (tenant_id, app_id)
);

CREATE INDEX service_principals_by_creation ON service_principals (tenant_id, created_at, object_id);

-- A credential cannot outlive its application: the foreign key both
-- refuses one for a missing application and removes them with it.
CREATE TABLE credentials (
    tenant_id       text             NOT NULL,
    app_id          text             NOT NULL,
    key_id          text COLLATE "C" NOT NULL,
    type            text             NOT NULL,
    display_name    text             NOT NULL,
    hint            text             NOT NULL,
    secret_hash     bytea            NOT NULL,
    certificate_der bytea            NOT NULL,
    thumbprint      text             NOT NULL,
    thumbprint_s256 text             NOT NULL,
    starts_at       timestamptz      NOT NULL,
    expires_at      timestamptz      NOT NULL,
    created_at      timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, app_id, key_id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES applications (tenant_id, app_id) ON DELETE CASCADE
);

CREATE INDEX credentials_by_creation ON credentials (tenant_id, app_id, created_at, key_id);

CREATE TABLE role_assignments (
    tenant_id       text             NOT NULL REFERENCES tenants (id),
    id              text COLLATE "C" NOT NULL,
    principal_id    text             NOT NULL,
    principal_type  text             NOT NULL,
    resource_id     text             NOT NULL,
    resource_app_id text             NOT NULL,
    app_role_id     text             NOT NULL,
    created_at      timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, principal_id, resource_id, app_role_id)
);

CREATE INDEX role_assignments_by_principal ON role_assignments (tenant_id, principal_id, created_at, id);
CREATE INDEX role_assignments_by_resource ON role_assignments (tenant_id, resource_id, created_at, id);

CREATE TABLE users (
    tenant_id       text             NOT NULL REFERENCES tenants (id),
    object_id       text COLLATE "C" NOT NULL,
    upn             text             NOT NULL,
    -- The lower-cased user principal name, folded in Go as domain_key.
    upn_key         text             NOT NULL,
    display_name    text             NOT NULL,
    mail            text             NOT NULL,
    enabled         boolean          NOT NULL,
    password_hash   text             NOT NULL,
    failed_sign_ins integer          NOT NULL,
    last_failure_at timestamptz      NOT NULL,
    locked_until    timestamptz      NOT NULL,
    created_at      timestamptz      NOT NULL,
    updated_at      timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, object_id),
    UNIQUE (tenant_id, upn_key)
);

CREATE INDEX users_by_creation ON users (tenant_id, created_at, object_id);

-- One row per client, resource and principal: PutConsent merges into it.
CREATE TABLE consents (
    tenant_id       text             NOT NULL REFERENCES tenants (id),
    client_id       text             NOT NULL,
    resource_app_id text COLLATE "C" NOT NULL,
    principal_id    text COLLATE "C" NOT NULL, -- a user's object id, or AllPrincipals
    scopes          text[]           NOT NULL,
    created_at      timestamptz      NOT NULL,
    updated_at      timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, client_id, resource_app_id, principal_id)
);

CREATE INDEX consents_by_principal ON consents (tenant_id, principal_id);
-- DeleteApplication removes the consents an application received as a
-- resource; the primary key serves the client side.
CREATE INDEX consents_by_resource ON consents (tenant_id, resource_app_id);

-- Single-use values (client assertion jti, …) until they expire. No foreign
-- key to tenants: the check must not cost more than the insert.
CREATE TABLE consumed_values (
    tenant_id  text        NOT NULL,
    value_key  text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, value_key)
);

CREATE INDEX consumed_values_by_expiry ON consumed_values (expires_at);

-- The directory change counter, for the read cache (internal/store/cache),
-- which serves tenants, applications, identifier URIs, service principals,
-- credentials and role assignments from memory and polls this row to learn
-- of writes by other instances. Every statement that writes one of those
-- tables bumps it by trigger, in the writer's own transaction, so that no
-- write path, present or future, Go or psql, can forget it, and the new
-- value is visible exactly when the write is. Users, consents and session
-- state are not cached and not counted (a sign-in failure must not flush
-- the cache).
--
-- The triggers run BEFORE each statement, not after: the row lock on the
-- counter is then every directory writer's first lock, taken before any
-- row of the directory, so two writers queue on it instead of each holding
-- a row the other needs (a deadlock). Directory writes are rare, so
-- queueing them costs nothing that matters. A statement that changes no
-- row bumps the counter too: a needless cache flush, never a missed one.
CREATE TABLE directory_version (
    id      integer NOT NULL PRIMARY KEY CHECK (id = 1),
    version bigint  NOT NULL
);

INSERT INTO directory_version (id, version) VALUES (1, 0);

-- SET search_path FROM CURRENT: the function finds this schema's counter
-- even when the writer's session has another search_path (an operator's
-- psql writing schema-qualified names), instead of failing or bumping
-- another schema's counter.
CREATE FUNCTION bump_directory_version() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_bump_directory_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

CREATE TRIGGER applications_bump_directory_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

CREATE TRIGGER application_identifier_uris_bump_directory_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON application_identifier_uris
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

CREATE TRIGGER service_principals_bump_directory_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_principals
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

CREATE TRIGGER credentials_bump_directory_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

CREATE TRIGGER role_assignments_bump_directory_version
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
