-- 0007: device authorizations are capped per tenant and client, and
-- purged as soon as they expire (review M3: anyone may start one for a
-- public client, and each was a row for a day past its expiry).
--
-- device_codes_pending answers CreateDeviceCode's count of a client's
-- pending, unexpired codes from the index alone. It leads with client_id,
-- not tenant_id, so that no lookup by the primary key (tenant_id, hash)
-- could be planned on it (see the PostgreSQL engine's 0005).
CREATE INDEX device_codes_pending ON device_codes (client_id, tenant_id, expires_at) WHERE status = 'pending';

-- Purge's "expires_at < cut-off LIMIT n", batch after batch, without a
-- scan of the table for each.
CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);
