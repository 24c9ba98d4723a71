-- 0004: failed sign-ins counted per client address and tenant, and the
-- bans they lead to (directory.RecordAddressFailure).
--
-- Table for table the SQLite engine's 0005, in the types of 0001 (a time
-- not set is the zero time, 0001-01-01). No foreign key to tenants: a
-- failure is counted before anything is known of the name typed, and the
-- row is housekeeping that Purge removes once expires_at is past.
CREATE TABLE address_failures (
    tenant_id        text             NOT NULL,
    -- an IPv4 address, or an IPv6 /64 (directory.AddressKey)
    address          text COLLATE "C" NOT NULL,
    failures         integer          NOT NULL,
    first_failure_at timestamptz      NOT NULL,
    last_failure_at  timestamptz      NOT NULL,
    banned_until     timestamptz      NOT NULL,
    -- when both the window and any ban have ended: Purge's cut-off
    expires_at       timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, address)
);

CREATE INDEX address_failures_by_expiry ON address_failures (expires_at);
