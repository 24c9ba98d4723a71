-- 0002: the session state (browser sessions, grants, authorization codes,
-- refresh tokens, device codes, the revocation feed) and the signing keys.
--
-- Table for table the SQLite engine's schema, in the types of 0001. In
-- addition:
--   * a time that is "not yet" (revoked_at, used_at, redeemed_at, …) holds
--     the zero time.Time, 0001-01-01 00:00:00+00, like every other zero time
--     of the schema (NOT NULL throughout: one meaning, no NULL logic);
--   * opaque values (session cookies, codes, refresh tokens, device and
--     user codes) are stored only as the keyed hashes the caller computes,
--     as bytea, unique in their tenant;
--   * the ids that order lists after a time are COLLATE "C", as in 0001.

-- id is the session's public id (what grants name); id_hash the keyed
-- hash of the cookie, the only form of the cookie the store sees.
CREATE TABLE browser_sessions (
    tenant_id  text             NOT NULL REFERENCES tenants (id),
    id         text COLLATE "C" NOT NULL,
    id_hash    bytea            NOT NULL,
    user_id    text             NOT NULL,
    auth_time  timestamptz      NOT NULL,
    created_at timestamptz      NOT NULL,
    expires_at timestamptz      NOT NULL,
    revoked_at timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, id_hash),
    UNIQUE (tenant_id, id)
);

-- No foreign key to users: the directory revokes a user's grants before
-- deleting the user, and the revoked grants stay, so that a late refresh
-- fails as revoked rather than unknown.
CREATE TABLE grants (
    tenant_id          text             NOT NULL REFERENCES tenants (id),
    id                 text COLLATE "C" NOT NULL,
    user_id            text             NOT NULL,
    client_id          text             NOT NULL,
    -- The browser session the grant was made in; NULL (not '') for a grant
    -- made outside a browser, so that the foreign key does not apply.
    browser_session_id text COLLATE "C",
    scopes             text[]           NOT NULL,
    auth_time          timestamptz      NOT NULL,
    created_at         timestamptz      NOT NULL,
    expires_at         timestamptz      NOT NULL,
    revoked_at         timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, browser_session_id) REFERENCES browser_sessions (tenant_id, id)
);

CREATE INDEX grants_by_session ON grants (tenant_id, browser_session_id) WHERE browser_session_id IS NOT NULL;
CREATE INDEX grants_by_user ON grants (tenant_id, user_id);
CREATE INDEX grants_by_client ON grants (tenant_id, client_id);

CREATE TABLE codes (
    tenant_id             text        NOT NULL,
    hash                  bytea       NOT NULL,
    grant_id              text        NOT NULL,
    client_id             text        NOT NULL,
    redirect_uri          text        NOT NULL,
    scopes                text[]      NOT NULL,
    resource              text        NOT NULL,
    nonce                 text        NOT NULL,
    code_challenge        text        NOT NULL,
    code_challenge_method text        NOT NULL,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    redeemed_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, hash),
    FOREIGN KEY (tenant_id, grant_id) REFERENCES grants (tenant_id, id)
);

CREATE INDEX codes_by_grant ON codes (tenant_id, grant_id);

CREATE TABLE refresh_tokens (
    tenant_id               text        NOT NULL,
    hash                    bytea       NOT NULL,
    grant_id                text        NOT NULL,
    client_id               text        NOT NULL,
    created_at              timestamptz NOT NULL,
    expires_at              timestamptz NOT NULL,
    used_at                 timestamptz NOT NULL,
    successor_hash          bytea       NOT NULL,
    -- The sealed response that carried the successor, kept for the grace
    -- window only: ForgetSealed empties it.
    successor_sealed        bytea       NOT NULL,
    -- The access token issued with this refresh token, which its rotation
    -- revokes.
    access_token_id         text        NOT NULL,
    access_token_expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, hash),
    FOREIGN KEY (tenant_id, grant_id) REFERENCES grants (tenant_id, id)
);

CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (tenant_id, grant_id);
-- ForgetSealed's scan: only the few rows still holding a sealed response.
CREATE INDEX refresh_tokens_sealed ON refresh_tokens (used_at) WHERE length(successor_sealed) > 0;

CREATE TABLE device_codes (
    tenant_id      text        NOT NULL REFERENCES tenants (id),
    hash           bytea       NOT NULL,
    user_code_hash bytea       NOT NULL,
    client_id      text        NOT NULL,
    scopes         text[]      NOT NULL,
    resource       text        NOT NULL,
    poll_interval  bigint      NOT NULL, -- nanoseconds
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    last_polled_at timestamptz NOT NULL,
    status         text        NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    user_id        text        NOT NULL,
    grant_id       text        NOT NULL,
    PRIMARY KEY (tenant_id, hash),
    UNIQUE (tenant_id, user_code_hash)
);

-- The revocation feed. Followers poll "entries after sequence number N",
-- so an entry must never become visible after one with a higher number:
-- the follower would already have moved past it. A PostgreSQL sequence
-- assigns its number at insert, not at commit, and so cannot promise that.
-- The numbers come instead from revocation_seq, a one-row counter that
-- every transaction appending to the feed increments (UPDATE … RETURNING)
-- in the statement that inserts the entries. The row lock it takes is held
-- until commit, so the next appender gets its number only after this one
-- has committed (or rolled back, giving the number back): numbers become
-- visible in order. The counter never goes down, so a number is never
-- given twice, even after the newest entries are purged.
CREATE TABLE revocation_seq (
    id       integer NOT NULL PRIMARY KEY CHECK (id = 1),
    last_seq bigint  NOT NULL
);

INSERT INTO revocation_seq (id, last_seq) VALUES (1, 0);

CREATE TABLE revocations (
    seq        bigint      NOT NULL PRIMARY KEY,
    tenant_id  text        NOT NULL REFERENCES tenants (id),
    kind       text        NOT NULL CHECK (kind IN ('sid', 'oid', 'client', 'jti')),
    value      text        NOT NULL,
    revoked_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX revocations_by_tenant ON revocations (tenant_id, seq);
-- Purge's scan.
CREATE INDEX revocations_by_expiry ON revocations (expires_at);

-- Signing keys are the one table outside any tenant: one key set signs for
-- every tenant, as in Entra.
CREATE TABLE signing_keys (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    alg           text             NOT NULL,
    state         text             NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    sealed        bytea            NOT NULL,
    cert_der      bytea            NOT NULL,
    created_at    timestamptz      NOT NULL,
    activated_at  timestamptz      NOT NULL,
    publish_until timestamptz      NOT NULL
);

-- At most one active and one next key, whatever a buggy caller does.
CREATE UNIQUE INDEX signing_keys_one_active_one_next ON signing_keys (state) WHERE state <> 'retired';
