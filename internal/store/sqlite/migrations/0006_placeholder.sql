-- PLACEHOLDER on branch t13-abuse only: migration numbers must be
-- contiguous, and 0006 belongs to another branch of issue 13 (tenant
-- domains). Drop this file when merging that branch; it changes nothing.
SELECT 1;
