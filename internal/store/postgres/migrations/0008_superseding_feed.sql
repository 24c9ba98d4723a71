-- 0008: the revocation feed grows with the sign-ins, not with their
-- refreshes (issue 13, M4).
--
-- A refresh used to put the rotated pair's access token on the feed by
-- jti: one entry per refresh for an access token's lifetime, which every
-- guard held in memory and introspection scanned. It now writes one
-- 'superseded' entry per grant (value: the sid) and audience (aud): "the
-- tokens of this sign-in for this aud issued at or before revoked_at,
-- except except_jti". A later refresh for the same grant and audience
-- replaces that entry (an upsert that gives it the next seq, so that
-- followers reading by cursor see it), if it comes from a later generation
-- of the rotation chain.

-- A refresh token's place in its grant's rotation chain: 0 for the first,
-- its predecessor's plus one after (session.RefreshToken.Generation). A
-- constant default: no table rewrite.
ALTER TABLE refresh_tokens ADD COLUMN generation bigint NOT NULL DEFAULT 0;

ALTER TABLE revocations
    -- 'superseded' only: the audience, the replacing token's jti, and
    -- the generation of the refresh token whose rotation wrote it.
    ADD COLUMN aud        text   NOT NULL DEFAULT '',
    ADD COLUMN except_jti text   NOT NULL DEFAULT '',
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
