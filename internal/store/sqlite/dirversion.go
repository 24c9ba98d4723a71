package sqlite

import "context"

// DirectoryVersion returns the directory change counter: a number that
// moves whenever a tenant, application, identifier URI, service principal,
// credential or role assignment is written, by this process or any other on
// the same file (triggers of migration 0003 bump it in the writer's own
// transaction). The directory cache polls it to bound how stale it can be.
func (s *Store) DirectoryVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.readRow(ctx, `SELECT version FROM directory_version WHERE id = 1`).Scan(&v)
	return v, wrap("read directory version", err)
}
