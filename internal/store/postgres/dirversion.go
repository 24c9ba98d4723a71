package postgres

import "context"

// DirectoryVersion returns the directory change counter: a number that
// moves whenever a tenant, application, identifier URI, service principal,
// credential or role assignment is written, by any instance on the
// database or by hand (the triggers of migration 0001 bump it in the
// writer's own transaction, so the new value becomes visible with the
// write, never before). The directory cache polls it to bound how stale it
// can be.
func (s *Store) DirectoryVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM directory_version WHERE id = 1`).Scan(&v)
	return v, wrap("read directory version", err)
}
