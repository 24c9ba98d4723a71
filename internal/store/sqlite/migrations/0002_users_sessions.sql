-- 0002: tenant policy, users, consent, and the session state (browser
-- sessions, grants, authorization codes, refresh tokens, device codes, the
-- revocation feed).
--
-- Same conventions as 0001. In addition:
--   * a time that is "not yet" (revoked_at, used_at, redeemed_at, …) holds
--     the encoding of the zero time.Time, -62135596800000000, like every
--     other zero time of the schema;
--   * opaque values (session ids, codes, refresh tokens, device and user
--     codes) are stored only as the keyed hashes the caller computes, as
--     BLOBs, unique in their tenant.

-- The policy is JSON written from a type of the store (see tenants.go);
-- durations are integer nanoseconds in it.
ALTER TABLE tenants ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';

CREATE TABLE users (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
    object_id       TEXT    NOT NULL,
    upn             TEXT    NOT NULL,
    -- upn_key is the lower-cased user principal name, computed in Go as
    -- for tenants.domain_key.
    upn_key         TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    mail            TEXT    NOT NULL,
    enabled         INTEGER NOT NULL,
    password_hash   TEXT    NOT NULL,
    failed_sign_ins INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id),
    UNIQUE (tenant_id, upn_key)
);

CREATE INDEX users_by_creation ON users (tenant_id, created_at, object_id);

-- One row per client, resource and principal: PutConsent merges into it.
CREATE TABLE consents (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
    client_id       TEXT    NOT NULL,
    resource_app_id TEXT    NOT NULL,
    principal_id    TEXT    NOT NULL, -- a user's object id, or AllPrincipals
    scopes          TEXT    NOT NULL, -- JSON array
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, client_id, resource_app_id, principal_id)
);

CREATE INDEX consents_by_principal ON consents (tenant_id, principal_id);

-- id is the session's public id (what grants name); id_hash the keyed
-- hash of the cookie, the only form of the cookie the store sees.
CREATE TABLE browser_sessions (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    id         TEXT    NOT NULL,
    id_hash    BLOB    NOT NULL,
    user_id    TEXT    NOT NULL,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id_hash),
    UNIQUE (tenant_id, id)
);

-- No foreign key to users: the directory revokes a user's grants before
-- deleting the user, and the revoked grants stay, so that a late refresh
-- fails as revoked rather than unknown.
CREATE TABLE grants (
    tenant_id          TEXT    NOT NULL REFERENCES tenants (id),
    id                 TEXT    NOT NULL,
    user_id            TEXT    NOT NULL,
    client_id          TEXT    NOT NULL,
    -- The browser session the grant was made in; NULL (not '') for a grant
    -- made outside a browser, so that the foreign key does not apply.
    browser_session_id TEXT,
    scopes             TEXT    NOT NULL, -- JSON array
    auth_time          INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    revoked_at         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, browser_session_id) REFERENCES browser_sessions (tenant_id, id)
);

CREATE INDEX grants_by_session ON grants (tenant_id, browser_session_id) WHERE browser_session_id IS NOT NULL;
CREATE INDEX grants_by_user ON grants (tenant_id, user_id);
CREATE INDEX grants_by_client ON grants (tenant_id, client_id);

CREATE TABLE codes (
    tenant_id             TEXT    NOT NULL,
    hash                  BLOB    NOT NULL,
    grant_id              TEXT    NOT NULL,
    client_id             TEXT    NOT NULL,
    redirect_uri          TEXT    NOT NULL,
    scopes                TEXT    NOT NULL, -- JSON array
    resource              TEXT    NOT NULL,
    nonce                 TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL,
    code_challenge_method TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    redeemed_at           INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hash),
    FOREIGN KEY (tenant_id, grant_id) REFERENCES grants (tenant_id, id)
);

CREATE INDEX codes_by_grant ON codes (tenant_id, grant_id);

CREATE TABLE refresh_tokens (
    tenant_id               TEXT    NOT NULL,
    hash                    BLOB    NOT NULL,
    grant_id                TEXT    NOT NULL,
    client_id               TEXT    NOT NULL,
    created_at              INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,
    used_at                 INTEGER NOT NULL,
    successor_hash          BLOB    NOT NULL,
    -- The sealed response that carried the successor, kept for the grace
    -- window only: ForgetSealed empties it.
    successor_sealed        BLOB    NOT NULL,
    -- The access token issued with this refresh token, which its rotation
    -- revokes.
    access_token_id         TEXT    NOT NULL,
    access_token_expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hash),
    FOREIGN KEY (tenant_id, grant_id) REFERENCES grants (tenant_id, id)
);

CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (tenant_id, grant_id);
-- ForgetSealed's scan: only the few rows still holding a sealed response.
CREATE INDEX refresh_tokens_sealed ON refresh_tokens (used_at) WHERE length(successor_sealed) > 0;

CREATE TABLE device_codes (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
    hash           BLOB    NOT NULL,
    user_code_hash BLOB    NOT NULL,
    client_id      TEXT    NOT NULL,
    scopes         TEXT    NOT NULL, -- JSON array
    resource       TEXT    NOT NULL,
    poll_interval  INTEGER NOT NULL, -- nanoseconds
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_polled_at INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id        TEXT    NOT NULL,
    grant_id       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, hash),
    UNIQUE (tenant_id, user_code_hash)
);

-- The revocation feed. AUTOINCREMENT: a sequence number is never given
-- twice, even after the newest entries are deleted, so a follower's cursor
-- can never skip a new entry. With one writer, sequence order is commit
-- order.
CREATE TABLE revocations (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('sid', 'oid', 'client', 'jti')),
    value      TEXT    NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX revocations_by_tenant ON revocations (tenant_id, seq);
