-- 0003: the audit log (internal/audit).
--
-- Table for table the SQLite engine's 0004, in the types of 0001. No
-- foreign key to tenants: a tenant's history outlives the tenant. details,
-- before and after are JSON text ('' when absent), kept as written rather
-- than as jsonb so that both engines give back the same bytes.

CREATE TABLE audit_events (
    id        text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id text             NOT NULL,
    at        timestamptz      NOT NULL,
    kind      text COLLATE "C" NOT NULL,
    actor     text             NOT NULL,
    target    text             NOT NULL,
    outcome   text             NOT NULL,
    reason    text             NOT NULL,
    details   text             NOT NULL,
    before    text             NOT NULL,
    after     text             NOT NULL
);

CREATE INDEX audit_events_by_tenant ON audit_events (tenant_id, at, id);
CREATE INDEX audit_events_by_time ON audit_events (at, id);
