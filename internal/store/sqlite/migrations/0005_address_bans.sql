-- 0005: failed sign-ins counted per client address and tenant, and the
-- bans they lead to (directory.RecordAddressFailure).
--
-- Same conventions as 0001 and 0002 (times are integer microseconds, a
-- time not set holds the encoding of the zero time). No foreign key to
-- tenants: a failure is counted before anything is known of the name
-- typed, and the row is housekeeping that Purge removes once expires_at
-- is past.
CREATE TABLE address_failures (
    tenant_id        TEXT    NOT NULL,
    -- an IPv4 address, or an IPv6 /64 (directory.AddressKey)
    address          TEXT    NOT NULL,
    failures         INTEGER NOT NULL,
    first_failure_at INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    banned_until     INTEGER NOT NULL,
    -- when both the window and any ban have ended: Purge's cut-off
    expires_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, address)
);

CREATE INDEX address_failures_by_expiry ON address_failures (expires_at);
