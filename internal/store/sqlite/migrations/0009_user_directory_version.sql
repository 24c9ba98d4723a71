-- 0009: enabling, disabling or deleting a user moves the directory version.
--
-- The admin API decides at every request whether its caller still holds
-- authority (internal/directory/adminauthority.go), reading through the
-- directory cache (internal/store/cache), which now also keeps whether a
-- user is enabled. A write through the same process invalidates that at
-- once; a write by another process on the same file (`tessera admin
-- --data` while the server runs) only shows here, or a user disabled or
-- deleted there would go on administering through the server's cache.
--
-- Only those changes count: a user's sign-in failures are written at every
-- wrong password, and a password is rehashed at sign-in after the hashing
-- parameters were raised; neither changes enabled, and neither may flush
-- the cache. A new user is not counted either: nothing cached can name an
-- object id that did not exist (the cache keeps no miss for a user).

CREATE TRIGGER users_enabled_bumps_directory_version AFTER UPDATE OF enabled ON users
WHEN OLD.enabled IS NOT NEW.enabled
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER users_del_bumps_directory_version AFTER DELETE ON users
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
