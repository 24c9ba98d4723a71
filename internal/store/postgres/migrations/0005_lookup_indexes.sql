-- The secondary indexes of the session tables led with tenant_id, as their
-- primary keys do. On a table without statistics (a new deployment: the
-- tables start empty and are not analysed until they have grown), the
-- planner costed "tenant_id = $1" on such an index about as cheaply as the
-- unique primary key, picked it for the lookups by (tenant_id, hash) and
-- (tenant_id, id), and kept that plan in every pooled connection's cached
-- generic plan: each refresh then read every refresh token of its tenant,
-- and the rate fell as the table grew (measured: 1,500 rows fetched per
-- rotation after two minutes of load). Leading with the column the index
-- is for leaves the planner one index that can answer a lookup by key.
--
-- Rebuilding an index locks its table's writes for the rebuild; on a large
-- deployment run `tessera migrate up` in a quiet hour (it is one
-- transaction, so it applies whole or not at all).

DROP INDEX grants_by_session;
DROP INDEX grants_by_user;
DROP INDEX grants_by_client;
DROP INDEX codes_by_grant;
DROP INDEX refresh_tokens_by_grant;

CREATE INDEX grants_by_session ON grants (browser_session_id, tenant_id) WHERE browser_session_id IS NOT NULL;
CREATE INDEX grants_by_user ON grants (user_id, tenant_id);
CREATE INDEX grants_by_client ON grants (client_id, tenant_id);
CREATE INDEX codes_by_grant ON codes (grant_id, tenant_id);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id, tenant_id);
