-- 0004: the audit log (internal/audit).
--
-- No foreign key to tenants: a tenant's history outlives the tenant, and
-- an event of a server-wide object (a signing key) is filed under the home
-- tenant without depending on it. details, before and after are JSON text
-- ('' when absent). Identifiers only: never a token, secret or password.

CREATE TABLE audit_events (
    id        TEXT    NOT NULL,
    tenant_id TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    details   TEXT    NOT NULL,
    before    TEXT    NOT NULL,
    after     TEXT    NOT NULL,
    -- The key is a tenant's list order, so that the table is that list;
    -- WITHOUT ROWID, so that an insert writes two B-trees (the table and
    -- audit_events_by_time), not four: at client-credentials rates every
    -- event's insert counts. ids begin with the time (see audit.newID),
    -- so inserts land at the right edge.
    PRIMARY KEY (tenant_id, at, id)
) WITHOUT ROWID;

-- The operator's list across tenants, and retention's purge.
CREATE INDEX audit_events_by_time ON audit_events (at, id);
