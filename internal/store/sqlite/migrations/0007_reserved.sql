-- Reserved: another branch of issue 13 adds the migration of this number.
-- This placeholder only lets the feed branch (whose migration is 0008)
-- migrate on its own; the merge replaces it with that branch's file.
SELECT 1;
