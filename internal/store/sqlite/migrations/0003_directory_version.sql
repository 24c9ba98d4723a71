-- 0003: a counter of directory changes, for the read cache.
--
-- The directory cache (internal/store/cache) serves tenants, applications,
-- service principals, credentials and role assignments from memory. A
-- write through the same process invalidates at once; a write by another
-- process (tessera admin --data while the server runs, another instance)
-- only shows here, so every change to those tables bumps this counter in
-- the writer's own transaction, by trigger, and the cache polls it and
-- flushes when it moves. Triggers rather than an update in each Go write:
-- no write path, present or future, can forget it.
--
-- One global row: directory writes are rare, and the poll is one point
-- read. Users, consents and session state are not cached and not counted
-- (a sign-in failure must not flush the cache).

CREATE TABLE directory_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);

INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE TRIGGER tenants_ins_bumps_directory_version AFTER INSERT ON tenants
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER tenants_upd_bumps_directory_version AFTER UPDATE ON tenants
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER tenants_del_bumps_directory_version AFTER DELETE ON tenants
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER applications_ins_bumps_directory_version AFTER INSERT ON applications
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER applications_upd_bumps_directory_version AFTER UPDATE ON applications
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER applications_del_bumps_directory_version AFTER DELETE ON applications
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER application_identifier_uris_ins_bumps_directory_version AFTER INSERT ON application_identifier_uris
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER application_identifier_uris_upd_bumps_directory_version AFTER UPDATE ON application_identifier_uris
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER application_identifier_uris_del_bumps_directory_version AFTER DELETE ON application_identifier_uris
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER service_principals_ins_bumps_directory_version AFTER INSERT ON service_principals
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER service_principals_upd_bumps_directory_version AFTER UPDATE ON service_principals
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER service_principals_del_bumps_directory_version AFTER DELETE ON service_principals
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER credentials_ins_bumps_directory_version AFTER INSERT ON credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER credentials_upd_bumps_directory_version AFTER UPDATE ON credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER credentials_del_bumps_directory_version AFTER DELETE ON credentials
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER role_assignments_ins_bumps_directory_version AFTER INSERT ON role_assignments
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER role_assignments_upd_bumps_directory_version AFTER UPDATE ON role_assignments
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER role_assignments_del_bumps_directory_version AFTER DELETE ON role_assignments
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
