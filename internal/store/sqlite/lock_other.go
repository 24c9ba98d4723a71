//go:build !unix

package sqlite

import "errors"

// ErrServing is returned by LockServing when another process serves the
// same database file.
var ErrServing = errors.New("another tessera serve is already running on this database")

// LockServing is a no-op where flock(2) is not available.
func LockServing(path string) (release func(), err error) { return func() {}, nil }
