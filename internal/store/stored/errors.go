package stored

import (
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// Fault is what an engine's error classifier makes of a driver error: the
// engines differ in how a broken rule is reported (an SQLite extended
// result code, a PostgreSQL SQLSTATE), not in what the contract makes of
// it, which is Wrap's and WrapSession's.
type Fault int

const (
	// FaultOther is any error the contract has no error of its own for.
	FaultOther Fault = iota
	// FaultNoRows is a single-row query that found no row.
	FaultNoRows
	// FaultUnique is a broken uniqueness rule (a primary key or a unique
	// index).
	FaultUnique
	// FaultForeignKey is a missing parent row.
	FaultForeignKey
)

// Wrap turns a database error, classified by the engine as fault, into the
// contract's errors, with engine and op as context: a missing row becomes
// directory.ErrNotFound, a broken uniqueness rule directory.ErrConflict, a
// missing parent row (a foreign key) directory.ErrNotFound. The driver's
// message is kept for the log.
func Wrap(engine, op string, err error, fault Fault) error {
	if err == nil {
		return nil
	}
	switch fault {
	case FaultNoRows:
		return fmt.Errorf("%s: %s: %w", engine, op, directory.ErrNotFound)
	case FaultUnique:
		return fmt.Errorf("%s: %s: %w (%v)", engine, op, directory.ErrConflict, err)
	case FaultForeignKey:
		return fmt.Errorf("%s: %s: %w (%v)", engine, op, directory.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %s: %w", engine, op, err)
}

// WrapSession is Wrap for the session.Repository methods: a missing row or
// a missing parent row (a foreign key) becomes session.ErrNotFound.
// session has no conflict error, so a broken uniqueness rule (a hash stored
// twice, a user code still held by a live device code) stays
// directory.ErrConflict, which callers that must retry (with a new user
// code) can test for.
func WrapSession(engine, op string, err error, fault Fault) error {
	if err == nil {
		return nil
	}
	switch fault {
	case FaultNoRows:
		return fmt.Errorf("%s: %s: %w", engine, op, session.ErrNotFound)
	case FaultForeignKey:
		return fmt.Errorf("%s: %s: %w (%v)", engine, op, session.ErrNotFound, err)
	}
	return Wrap(engine, op, err, fault)
}
