package guardtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The resource server's client credentials the introspection endpoint
// accepts (RFC 7662 §2.1: callers authenticate).
const (
	IntrospectionClientID = "7e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b"
	IntrospectionSecret   = "tss_guardtest+introspection/secret"
)

// introspection is the state of the introspection endpoint.
type introspection struct {
	down, hidden atomic.Bool
	requests     atomic.Int64
}

// IntrospectionURL is the home tenant's introspection endpoint, as
// discovery names it.
func (a *Authority) IntrospectionURL() string { return a.introspectionURL(a.TenantID) }

func (a *Authority) introspectionURL(tid string) string {
	return a.Base() + "/" + tid + "/oauth2/v2.0/introspect"
}

// IntrospectionOutage makes the introspection endpoint answer 503 while
// down is true.
func (a *Authority) IntrospectionOutage(down bool) { a.introspection.down.Store(down) }

// PublishIntrospection says whether discovery documents name the
// introspection endpoint; they do by default.
func (a *Authority) PublishIntrospection(on bool) { a.introspection.hidden.Store(!on) }

// IntrospectionRequests counts requests to the introspection endpoint.
func (a *Authority) IntrospectionRequests() int { return int(a.introspection.requests.Load()) }

// serveIntrospect answers RFC 7662 §2.2: active when the token is one the
// authority signed with a published key, of tenant tid, not expired by
// a.Now, and not revoked on the tenant's feed (by the feed's rules).
func (a *Authority) serveIntrospect(w http.ResponseWriter, r *http.Request, tid string) {
	a.introspection.requests.Add(1)
	if a.introspection.down.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	if !ok || id != IntrospectionClientID || secret != IntrospectionSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="guardtest"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	claims, ok := a.verify(r.PostFormValue("token"))
	if !ok || claims["tid"] != tid || !a.Now().Before(unix(claims["exp"])) || a.revoked(tid, claims) {
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	out := map[string]any{"active": true, "token_type": "Bearer"}
	for _, k := range []string{"sub", "aud", "iss", "exp", "iat", "nbf", "jti", "tid", "sid", "roles"} {
		if v, ok := claims[k]; ok {
			out[k] = v
		}
	}
	out["client_id"] = first(claims, "azp", "appid")
	if scp, ok := claims["scp"]; ok {
		out["scope"] = scp
	}
	writeJSON(w, http.StatusOK, out)
}

// verify checks tok's signature against the published keys and returns
// its claims.
func (a *Authority) verify(tok string) (map[string]any, bool) {
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return nil, false
	}
	kid := jws.Signatures[0].Header.KeyID
	a.mu.Lock()
	var key *Key
	for _, k := range a.published {
		if k.ID == kid {
			key = &k
		}
	}
	a.mu.Unlock()
	if key == nil {
		return nil, false
	}
	payload, err := jws.Verify(key.Signer.Public())
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return nil, false
	}
	return claims, true
}

// revoked applies the live entries of tid's feed to the claims.
func (a *Authority) revoked(tid string, c map[string]any) bool {
	now := a.Now()
	a.feed.mu.Lock()
	defer a.feed.mu.Unlock()
	for _, e := range a.feed.entries[tid] {
		if !now.Before(e.ExpiresAt) {
			continue
		}
		issuedBefore := !unix(c["iat"]).After(e.RevokedAt)
		switch e.Kind {
		case KindSession:
			if c["sid"] == e.Value {
				return true
			}
		case KindToken:
			if c["jti"] == e.Value || c["uti"] == e.Value {
				return true
			}
		case KindSubject:
			if c["oid"] == e.Value && issuedBefore {
				return true
			}
		case KindClient:
			if (c["azp"] == e.Value || c["appid"] == e.Value) && issuedBefore {
				return true
			}
		case KindSuperseded:
			replaced := e.Prior != "" && (c["jti"] == e.Prior || c["uti"] == e.Prior)
			older := unix(c["iat"]).Before(e.RevokedAt)
			if c["sid"] == e.Value && c["aud"] == e.Aud && (older || replaced) {
				return true
			}
		}
	}
	return false
}

func unix(v any) time.Time {
	f, _ := v.(float64)
	return time.Unix(int64(f), 0)
}

func first(c map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := c[n].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// tenantEndpoints adds the tenant's revocation feed and introspection
// endpoint to a discovery document, unless hidden.
func (a *Authority) tenantEndpoints(d map[string]any, tid string) {
	if !a.feed.hidden.Load() {
		d["revocation_feed_endpoint"] = a.feedURL(tid)
	}
	if !a.introspection.hidden.Load() {
		d["introspection_endpoint"] = a.introspectionURL(tid)
	}
}
