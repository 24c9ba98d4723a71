-- 0008: the revocation feed grows with the sign-ins, not with their
-- refreshes (issue 13, M4).
--
-- A refresh used to put the rotated pair's access token on the feed by
-- jti: one entry per refresh for an access token's lifetime, which every
-- guard held in memory and introspection scanned. It now writes one
-- 'superseded' entry per grant (value: the sid) and audience (aud): "the
-- tokens of this sign-in for this aud issued before revoked_at (the new
-- token's second), and prior_jti (the token the refresh replaced)". A later refresh for the same grant and audience
-- replaces that entry (delete and insert, so it takes a new seq that
-- followers reading by cursor see), if it comes from a later generation
-- of the rotation chain.

-- A refresh token's place in its grant's rotation chain: 0 for the first,
-- its predecessor's plus one after (session.RefreshToken.Generation).
ALTER TABLE refresh_tokens ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- The latest access token the chain issued for each audience (session.
-- IssuedTokens, a JSON array; a bare jti in rows stored before this
-- migration, of unknown audience), so that a rotation knows which token of
-- its audience it replaces, whatever API the refresh tokens in between
-- were redeemed for.
ALTER TABLE refresh_tokens RENAME COLUMN access_token_id TO access_tokens;

-- SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- (https://sqlite.org/lang_altertable.html#otheralter). Its numbering is
-- carried over through sqlite_sequence, so that no sequence number is
-- given twice across the rebuild (a follower's cursor may be past the
-- highest entry still stored: purged entries keep their numbers).
CREATE TABLE revocations_new (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('sid', 'oid', 'client', 'jti', 'superseded')),
    value      TEXT    NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- 'superseded' only: the audience, the replaced token's jti, and
    -- the generation of the refresh token whose rotation wrote it.
    aud        TEXT    NOT NULL DEFAULT '',
    prior_jti TEXT    NOT NULL DEFAULT '',
    generation INTEGER NOT NULL DEFAULT 0
);
INSERT INTO revocations_new (seq, tenant_id, kind, value, revoked_at, expires_at)
    SELECT seq, tenant_id, kind, value, revoked_at, expires_at FROM revocations;
DELETE FROM sqlite_sequence WHERE name = 'revocations_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'revocations_new', seq FROM sqlite_sequence WHERE name = 'revocations';
DROP TABLE revocations;
ALTER TABLE revocations_new RENAME TO revocations;

CREATE INDEX revocations_by_tenant ON revocations (tenant_id, seq);
-- Introspection's lookup: the entries that name one of a token's values
-- (sid, jti, oid, client), instead of a scan of the feed.
CREATE INDEX revocations_by_value ON revocations (value, tenant_id);
-- At most one 'superseded' entry per grant and audience.
CREATE UNIQUE INDEX revocations_superseding ON revocations (value, aud, tenant_id) WHERE kind = 'superseded';
