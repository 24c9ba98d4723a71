package oauth

import (
	"net/http"
	"time"

	"github.com/tessera-id/tessera/internal/ratelimit"
)

// The abuse limits at the protocol endpoints (see package ratelimit):
//
//   - per address at the token and device authorization endpoints
//     (limitAddress), before the body is read, and for the password grant
//     the per-address sign-in limit too;
//   - per address at the device authorization endpoint (limitDevice), on
//     by default: anyone may start a device authorization for a public
//     client, and each is a row in the database until it expires (RFC
//     8628 §5.2); the cap on pending codes per tenant and client
//     (session.DefaultDevicePendingMax) bounds what many addresses
//     together can write;
//   - per confidential client once it has authenticated (in
//     authenticateClient), so that a caller who merely names a client id
//     cannot spend that client's budget;
//   - per address at the product-login API (limitSignIn), a bucket shared
//     with the sign-in and device code entry pages.
//
// A throttled request gets 429 with Retry-After (RFC 6585 §4) and, at the
// OAuth endpoints, the token endpoint's error body (errThrottled).

// limitAddress wraps a token or device authorization endpoint with the
// per-address limit and, for the password grant (RFC 6749 §4.3), the
// per-address sign-in limit: it tries passwords as the sign-in page does,
// and is the usual way of spraying them (RFC 9700 §2.4 deprecates it for
// that reason among others).
func (h *Handler) limitAddress(next http.HandlerFunc) http.HandlerFunc {
	if h.limits == nil || h.limits.Addresses == nil || (h.limits.TokenAddress == nil && h.limits.SignIn == nil) {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if h.limits.Addresses.Exempt(h.limits.Addresses.Client(r)) {
			next(w, r)
			return
		}
		if ok, wait := h.limits.AllowAddress(h.limits.TokenAddress, r); !ok {
			writeError(w, r, h.log, errThrottled(wait))
			return
		}
		if h.limits.SignIn != nil {
			// The same parse the endpoint runs first, so a bad request gets
			// the same error; the endpoint's own parse then reuses the form.
			req, oerr := parseClientRequest(w, r)
			if oerr != nil {
				writeError(w, r, h.log, oerr)
				return
			}
			if req.GrantType == "password" {
				if ok, wait := h.limits.AllowAddress(h.limits.SignIn, r); !ok {
					writeError(w, r, h.log, errThrottled(wait))
					return
				}
			}
		}
		next(w, r)
	}
}

// limitDevice wraps a device authorization endpoint with the per-address
// device authorization limit, before the body is read.
func (h *Handler) limitDevice(next http.HandlerFunc) http.HandlerFunc {
	if h.limits == nil || h.limits.DeviceAddress == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := h.limits.AllowAddress(h.limits.DeviceAddress, r); !ok {
			writeError(w, r, h.log, errThrottled(wait))
			return
		}
		next(w, r)
	}
}

// limitSignIn wraps the product-login API with the per-address sign-in
// limit.
func (h *Handler) limitSignIn(next http.HandlerFunc) http.HandlerFunc {
	if h.limits == nil || h.limits.SignIn == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := h.limits.AllowAddress(h.limits.SignIn, r); !ok {
			writeProductError(w, r, h.log, errSignInThrottled(wait))
			return
		}
		next(w, r)
	}
}

// limitClient spends a request of an authenticated confidential client's
// budget.
func (h *Handler) limitClient(tenantID, clientID string) *Error {
	if ok, wait := h.limits.AllowClient(tenantID, clientID); !ok {
		return errThrottled(wait)
	}
	return nil
}

// retryAfter is the wait a throttled client is told.
func retryAfter(w http.ResponseWriter, d time.Duration) { ratelimit.SetRetryAfter(w, d) }
