package postgres

import "errors"

// errNotImplemented is what the remaining stubs of the session half return
// until they are written.
var errNotImplemented = errors.New("postgres: not implemented yet")
