package cli

import (
	"errors"
)

// Exit codes, as az uses them where az has one, so scripts written for az
// keep working.
const (
	ExitError    = 1 // anything else
	ExitUsage    = 2 // bad flags or arguments
	ExitNotFound = 3 // the object named does not exist
	ExitAuth     = 4 // not logged in, or the server refused the credentials
)

// exitError carries the exit code a command wants, and a message that says
// what to do.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExit attaches an exit code to err.
func withExit(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// ExitCode returns the process exit code for an error a command returned.
func ExitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return ExitError
}
