package account

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// ServerError is an OAuth error response (RFC 6749 §5.2) with the fields
// Entra adds. Error() shows the server's error_description, which is
// written for the person at the keyboard (AADSTS7000215: Invalid client
// secret provided…), with the trace id the operator looks up in the log.
type ServerError struct {
	StatusCode    int    `json:"-"`
	Code          string `json:"error"`
	Description   string `json:"error_description"`
	SubError      string `json:"suberror,omitempty"` // Entra's refinement of invalid_grant: consent_required, bad_token, …
	ErrorCodes    []int  `json:"error_codes,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
}

func (e *ServerError) Error() string {
	// Entra appends "\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …"
	// to the description; the first line is the sentence that matters.
	desc, _, _ := strings.Cut(strings.ReplaceAll(e.Description, "\r\n", "\n"), "\n")
	desc = strings.TrimSpace(desc)
	if desc == "" {
		desc = fmt.Sprintf("the server refused the request with %s (HTTP %d)", e.Code, e.StatusCode)
	}
	if e.TraceID != "" {
		return fmt.Sprintf("%s (trace id %s)", desc, e.TraceID)
	}
	return desc
}

// CredentialsRejected reports whether the server refused who the client
// is (a wrong secret, an unknown client, a disabled service principal)
// rather than what it asked for. The CLI exits 4 for these, as az does.
func (e *ServerError) CredentialsRejected() bool {
	switch e.Code {
	case "invalid_client", "unauthorized_client":
		return true
	}
	return e.StatusCode == 401
}

// ConsentRequired reports whether the server refused a token for want of
// the user's consent to what was asked (Entra's AADSTS65001, suberror
// consent_required), which a sign-in that asks for it fixes; the refresh
// token itself is still good.
func (e *ServerError) ConsentRequired() bool {
	if e.SubError == "consent_required" {
		return true
	}
	for _, c := range e.ErrorCodes {
		if c == 65001 {
			return true
		}
	}
	return false
}

// LoginRequiredError says that a user's sign-in is no longer usable: the
// refresh token is missing, expired or revoked. Its tokens have been
// dropped; only a new `tessera login` helps.
type LoginRequiredError struct {
	Username string
	Cause    error
}

func (e *LoginRequiredError) Error() string {
	who := "the account"
	if e.Username != "" {
		who = e.Username
	}
	return fmt.Sprintf("the sign-in of %s is no longer valid (%v): log in again", who, e.Cause)
}

func (e *LoginRequiredError) Unwrap() error { return e.Cause }

// ConsentRequiredError says that the user has not consented to the
// resource a token was asked for. Signing in again with that scope asks
// for the consent, as az's hint `az login --scope …` does.
type ConsentRequiredError struct {
	Target Target
	Cause  *ServerError
}

func (e *ConsentRequiredError) Error() string {
	return fmt.Sprintf("%v: sign in again asking for it, with tessera login --scope %s", e.Cause, e.Target.consentScope())
}

func (e *ConsentRequiredError) Unwrap() error { return e.Cause }

// scrub removes secret from a text the server sent back, in case a server
// (or a proxy in front of it) echoes the request: whatever the server says,
// the CLI must never print the client secret.
func scrub(text string, secret Secret) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, string(secret), "***")
}

// TransportError turns a failure to talk to url into a sentence that says
// what to do. TLS trust is the common one: tessera serves with its own CA
// by default, and the user has to be told where that CA goes.
func TransportError(url string, err error) error {
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the TLS certificate of %s is not signed by a CA this machine trusts: pass --ca-file with the CA file the server printed at start-up, or set TESSERA_CA_FILE: %w", url, err)
	case errors.As(err, &badHost):
		return fmt.Errorf("the TLS certificate of %s is not valid for that host name: use the host name the certificate names: %w", url, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("the TLS certificate of %s is not valid (%v): check the server's certificate and the machine's clock: %w", url, invalid.Reason, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot connect to %s: check that the server is running and the URL (or --authority) is right: %w", url, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s did not answer in time: check the address and the network: %w", url, err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot resolve the host of %s: check the URL: %w", url, err)
	}
	return fmt.Errorf("cannot reach %s: %w", url, err)
}
