package web

import (
	"net/http"
	"time"

	"github.com/tessera-id/tessera/internal/ratelimit"
)

// limitSignIn wraps the pages where a password or a user code is tried
// (the sign-in form and the device code entry) with the per-address
// sign-in limit, a bucket shared with the product-login API. Guessing
// user codes is the device flow's classic attack (RFC 8628 §5.1): the
// code's entropy is only safe together with a limit on attempts. Guessing
// passwords is also bounded per account by the lockout, in the database;
// this limit bounds one address trying many accounts.
func (h *Handler) limitSignIn(next http.HandlerFunc) http.HandlerFunc {
	if h.limits == nil || h.limits.SignIn == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := h.limits.AllowAddress(h.limits.SignIn, r); !ok {
			ratelimit.SetRetryAfter(w, wait)
			h.errorPage(w, r, pageTooManyRequests())
			return
		}
		next(w, r)
	}
}

// pageTooManyRequests: 429 (RFC 6585 §4), with Retry-After set by the
// caller.
func pageTooManyRequests() *pageError {
	return &pageError{Status: http.StatusTooManyRequests, Title: "Too many attempts",
		Message: "Too many sign-in attempts came from your network. Wait a minute and try again."}
}

// busy answers a sign-in that found every password hashing slot taken
// (directory.ErrBusy): 503 with Retry-After (RFC 9110 §15.6.4); nothing
// was checked, so the person just tries again.
func (h *Handler) busy(w http.ResponseWriter, r *http.Request, cause error) {
	ratelimit.SetRetryAfter(w, 2*time.Second)
	h.errorPage(w, r, &pageError{Status: http.StatusServiceUnavailable, Title: "Busy", Cause: cause,
		Message: "The server is busy checking other sign-ins. Go back and try again in a moment."})
}
