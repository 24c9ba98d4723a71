-- 0003: the audit log (internal/audit).
--
-- Table for table the SQLite engine's 0004, in the types of 0001. No
-- foreign key to tenants: a tenant's history outlives the tenant. details,
-- before and after are JSON text ('' when absent), kept as written rather
-- than as jsonb so that both engines give back the same bytes.

CREATE TABLE audit_events (
    id        text COLLATE "C" NOT NULL,
    tenant_id text             NOT NULL,
    at        timestamptz      NOT NULL,
    kind      text COLLATE "C" NOT NULL,
    actor     text             NOT NULL,
    target    text             NOT NULL,
    outcome   text             NOT NULL,
    reason    text             NOT NULL,
    details   text             NOT NULL,
    before    text             NOT NULL,
    after     text             NOT NULL,
    -- A tenant's list order; with audit_events_by_time, two indexes to
    -- write per event, as few as the two lists allow.
    PRIMARY KEY (tenant_id, at, id)
);

-- The operator's list across tenants, and retention's purge.
CREATE INDEX audit_events_by_time ON audit_events (at, id);
