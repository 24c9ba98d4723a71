package oauth

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestProductColumn: the error table's product-login column. The product
// API keeps the codes and statuses its clients have always read; where a
// row has no product entry, the OAuth code, status and words are the
// product's too.
func TestProductColumn(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cause := errors.New("cause")
	user := directory.User{UserPrincipalName: "alice@contoso"}
	res := directory.Resource{App: directory.Application{AppID: "11111111-1111-4111-8111-111111111111", DisplayName: "Studies"}}
	for _, tc := range []struct {
		rule   string
		err    *Error
		status int
		code   string
		desc   string
		retry  time.Duration
	}{
		{"one message for an unknown user and a wrong password", errBadCredentials(cause), 401, "invalid_credentials", "Invalid username or password.", 0},
		{"the right password of a disabled account", errUserDisabled(cause), 403, "account_disabled", "The user account is disabled.", 0},
		{"a name outside the tenant's domains reads as disabled", errNameNotBound(cause), 403, "account_disabled", errNameNotBound(nil).Description, 0},
		{"a resource requiring assignment", errUserNotAssigned(user, res, cause), 403, "not_assigned",
			"The signed in user 'alice@contoso' is not assigned to a role for the application '11111111-1111-4111-8111-111111111111' (Studies): an administrator of the tenant must assign the user one of its app roles.", 0},
		{"RFC 6585 §4: locked, 429 with Retry-After until the lock ends",
			errAccountLocked(&directory.LockedError{Until: now.Add(10 * time.Minute), Locked: true}, now, cause), 429, "too_many_attempts",
			"Too many failed sign-ins: try again after 2026-12-07T12:10:00Z.", 10 * time.Minute},
		{"a banned address says so",
			errAccountLocked(&directory.LockedError{Until: now.Add(time.Minute), Address: true}, now, cause), 429, "too_many_attempts",
			"Too many failed sign-ins from this address: try again after 2026-12-07T12:01:00Z.", time.Minute},
		{"RFC 6585 §4: the per-address limit", errSignInThrottled(3 * time.Second), 429, "too_many_requests",
			"Too many sign-in requests from this address: wait for the time in Retry-After.", 3 * time.Second},
		{"RFC 9110 §15.6.4: hashing at capacity, as the OAuth row", errBusy(cause), 503, "temporarily_unavailable", errBusy(nil).Description, busyRetryAfter},
		{"an unknown tenant, in the product's words", errTenantNotFound("fabrikam"), 400, "invalid_request", "Tenant 'fabrikam' not found.", 0},
		{"a malformed request, as the OAuth row", errLoginFields(), 400, "invalid_request", "username and password are required.", 0},
		{"product login not configured", errProductLoginOff(directory.Tenant{Domain: "contoso"}, cause), 400, "invalid_request", errProductLoginOff(directory.Tenant{Domain: "contoso"}, nil).Description, 0},
		{"RFC 6750 §3.1: the logout's token", errLogoutBadToken(cause), 401, "invalid_token", "The token is not valid.", 0},
		{"a server error names no internals (the writer adds the trace id)", errServer(cause), 500, "server_error", "The server failed to process the request.", 0},
		{"the CLI registration missing is a server error", errNoCLIClient(cause), 500, "server_error", "The tenant has no usable CLI client registration.", 0},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			p := tc.err.productShape()
			if p.status != tc.status || p.code != tc.code || p.description != tc.desc || p.retryAfter != tc.retry {
				t.Errorf("got %d %s %q retry %v, want %d %s %q retry %v", p.status, p.code, p.description, p.retryAfter, tc.status, tc.code, tc.desc, tc.retry)
			}
		})
	}
}
