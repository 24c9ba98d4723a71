package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// csrfCookie holds a random value per browser; a form's csrf_token is a
// keyed MAC of that value and the form's purpose (the double-submit
// pattern with a signed token, OWASP CSRF Prevention). A site that cannot
// read our cookie cannot make a token, and a token for one form is not
// valid for another. Its name has the __Host- prefix (see cookieName):
// the double-submit pattern's weakness is a sibling subdomain that sets
// the cookie for us, which a browser refuses for a __Host- cookie.
const csrfCookie = "tessera_csrf"

// csrfKey returns the browser's CSRF value, setting a new cookie when the
// request has none. SameSite=Strict: no other site's request carries it.
func (h *Handler) csrfKey(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.cookieName(csrfCookie)); err == nil && validCSRFValue(c.Value) {
		return c.Value
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(csrfCookie), Value: v, Path: "/", HttpOnly: true, Secure: !h.insecure, SameSite: http.SameSiteStrictMode})
	return v
}

func validCSRFValue(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

func (h *Handler) csrfMAC(key, purpose string) []byte {
	return h.secrets.HashToken("tessera/v1/csrf:" + purpose + ":" + key)
}

// csrfToken returns the token a form of purpose must post back.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request, purpose string) string {
	return base64.RawURLEncoding.EncodeToString(h.csrfMAC(h.csrfKey(w, r), purpose))
}

// checkCSRF verifies a posted form's csrf_token in constant time.
func (h *Handler) checkCSRF(r *http.Request, purpose string) bool {
	c, err := r.Cookie(h.cookieName(csrfCookie))
	if err != nil || !validCSRFValue(c.Value) {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(r.PostFormValue("csrf_token"))
	if err != nil {
		return false
	}
	return hmac.Equal(got, h.csrfMAC(c.Value, purpose))
}
