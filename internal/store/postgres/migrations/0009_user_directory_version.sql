-- 0009: enabling, disabling or deleting a user moves the directory version.
--
-- The admin API decides at every request whether its caller still holds
-- authority (internal/directory/adminauthority.go), reading through the
-- directory cache (internal/store/cache), which now also keeps whether a
-- user is enabled. A write through the same instance invalidates that at
-- once; a write by another instance only shows here, or a user disabled or
-- deleted there would go on administering through this one's cache for as
-- long as its token lives.
--
-- Only those changes count: a user's sign-in failures are written at every
-- wrong password, and a password is rehashed at sign-in after the hashing
-- parameters were raised; neither changes enabled, and neither may flush
-- every instance's cache. A new user is not counted either: nothing cached
-- can name an object id that did not exist (the cache keeps no miss for a
-- user).
--
-- Row triggers, AFTER, unlike 0001's statement triggers BEFORE: the WHEN
-- clause that tells a change of enabled from any other update needs the
-- row. The counter's lock is then taken after the user's row lock. That
-- order cannot deadlock with the other directory writers, which take the
-- counter first but never lock a user row afterwards; and two writers of
-- one user queue on its row before either reaches the counter. (A DELETE
-- or TRUNCATE statement trigger BEFORE would take the counter ahead of the
-- user's row and could deadlock with a concurrent disable of that user.)

CREATE TRIGGER users_enabled_bump_directory_version
    AFTER UPDATE OF enabled ON users
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled)
    EXECUTE FUNCTION bump_directory_version();

CREATE TRIGGER users_delete_bump_directory_version
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();

CREATE TRIGGER users_truncate_bump_directory_version
    AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
