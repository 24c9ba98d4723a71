package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Failure is a request that did not do what the scenario expects, with the
// kind it is counted under in the report: an OAuth error code
// (invalid_grant), status_NNN for an HTTP status without one, or what went
// wrong in a flow (unexpected_page, no_code, …).
type Failure struct {
	Kind   string
	Detail string
	// Busy is set when the server said to come back later (429 or 503,
	// RFC 6585 §4, RFC 9110 §15.6.4), with the Retry-After it gave, or 0.
	Busy       bool
	RetryAfter time.Duration
}

func (f *Failure) Error() string {
	if f.Detail == "" {
		return f.Kind
	}
	return f.Kind + ": " + f.Detail
}

func failf(kind, format string, args ...any) error {
	return &Failure{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// KindOf names the kind an error is counted under. Transport failures are
// named for what an operator would look at: timeout (the server or the
// network is too slow), conn_refused (nothing listens), conn_reset (the
// server dropped connections, often a full accept queue), eof, tls.
func KindOf(err error) string {
	var f *Failure
	switch {
	case err == nil:
		return ""
	case errors.As(err, &f):
		return f.Kind
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return "conn_reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case isTLS(err):
		return "tls"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLS(err error) bool {
	var (
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
	)
	return errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert)
}
