-- 0008: the revocation feed grows with the sign-ins, not with their
-- refreshes (issue 13, M4).
--
-- A refresh used to put the rotated pair's access token on the feed by
-- jti: one entry per refresh for an access token's lifetime, which every
-- guard held in memory and introspection scanned. It now writes one
-- 'superseded' entry per grant (value: the sid) and audience (aud): "the
-- tokens of this sign-in for this aud issued before revoked_at (the new
-- token's second), and prior_jti (the token the refresh replaced)". A later refresh for the same grant and audience
-- replaces that entry (an upsert that gives it the next seq, so that
-- followers reading by cursor see it), if it comes from a later generation
-- of the rotation chain.

-- A refresh token's place in its grant's rotation chain: 0 for the first,
-- its predecessor's plus one after (session.RefreshToken.Generation). A
-- constant default: no table rewrite.
ALTER TABLE refresh_tokens ADD COLUMN generation bigint NOT NULL DEFAULT 0;

-- The latest access token the chain issued for each audience (session.
-- IssuedTokens, a JSON array; a bare jti in rows stored before this
-- migration, of unknown audience), so that a rotation knows which token of
-- its audience it replaces, whatever API the refresh tokens in between
-- were redeemed for.
ALTER TABLE refresh_tokens RENAME COLUMN access_token_id TO access_tokens;

ALTER TABLE revocations
    -- 'superseded' only: the audience, the replaced token's jti, and
    -- the generation of the refresh token whose rotation wrote it.
    ADD COLUMN aud        text   NOT NULL DEFAULT '',
    ADD COLUMN prior_jti text   NOT NULL DEFAULT '',
    ADD COLUMN generation bigint NOT NULL DEFAULT 0,
    DROP CONSTRAINT revocations_kind_check,
    -- NOT VALID: every stored row passed the narrower check it replaces,
    -- so there is nothing to scan for; new rows are checked.
    ADD CONSTRAINT revocations_kind_check CHECK (kind IN ('sid', 'oid', 'client', 'jti', 'superseded')) NOT VALID;

-- Introspection's lookup: the entries that name one of a token's values
-- (sid, jti, oid, client), instead of a scan of the feed. Led by the value,
-- not tenant_id (see 0005).
CREATE INDEX revocations_by_value ON revocations (value, tenant_id);
-- At most one 'superseded' entry per grant and audience; the feed's
-- appends name it in ON CONFLICT.
CREATE UNIQUE INDEX revocations_superseding ON revocations (value, aud, tenant_id) WHERE kind = 'superseded';
