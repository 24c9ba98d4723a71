package e2e

import (
	"net/url"
	"testing"
)

// TestSecurityMixUp: RFC 9700 §4.4 (mix-up). Every authorization
// response names its issuer (RFC 9207 §2), the issuer discovery names,
// and discovery says so; tokens carry the same issuer.
func TestSecurityMixUp(t *testing.T) {
	e := newSecEnv(t)
	disc := getJSON(t, e.h, "/"+e.tid+"/v2.0/.well-known/openid-configuration")
	issuer, _ := disc["issuer"].(string)
	if issuer != e.h.srv.URL+"/"+e.tid+"/v2.0" {
		t.Fatalf("discovery issuer %q", issuer)
	}
	b := e.signedIn(t, e.tid)
	for _, tc := range []struct {
		name string
		get  func(t *testing.T) url.Values
	}{
		{"§4.4.2 iss in a code response", func(t *testing.T) url.Values { return e.code(t, b, e.tid, nil) }},
		{"§4.4.2 iss in an error response", func(t *testing.T) url.Values {
			return e.code(t, b, e.tid, url.Values{"scope": {"api://nonexistent/read"}})
		}},
		{"§4.4.2 iss in an error response before sign-in", func(t *testing.T) url.Values {
			_, next := e.h.newBrowser(t).get(e.authorizeURL(e.tid, url.Values{"response_type": {"token"}}))
			if next == nil {
				t.Fatal("no redirect")
			}
			return next.Query()
		}},
		{"§4.4.2 iss in a form_post response", func(t *testing.T) url.Values {
			p, next := b.get(e.authorizeURL(e.tid, url.Values{"response_mode": {"form_post"}}))
			_, next = b.walk(p, next, "alice", alicePassword)
			if next == nil {
				t.Fatal("no form_post")
			}
			return next.Query()
		}},
		{"§4.4.2 iss in a response at the domain-named endpoint", func(t *testing.T) url.Values { return e.code(t, b, "default", nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.get(t)
			if q.Get("iss") != issuer {
				t.Fatalf("iss %q, want %q (response %v)", q.Get("iss"), issuer, q)
			}
			if q.Get("state") != "st-1" {
				t.Fatalf("state %q", q.Get("state"))
			}
		})
	}
	t.Run("§4.4.2 discovery announces iss (RFC 9207 §3)", func(t *testing.T) {
		if disc["authorization_response_iss_parameter_supported"] != true {
			t.Fatalf("authorization_response_iss_parameter_supported %v", disc["authorization_response_iss_parameter_supported"])
		}
	})
	t.Run("§4.4.2 tokens carry the issuer, the ID token the client as audience", func(t *testing.T) {
		status, body := e.token(e.tid, e.redeemForm(e.code(t, b, e.tid, nil).Get("code")))
		wantTokens(t, status, body)
		at, id := claimsOf(t, body["access_token"].(string)), claimsOf(t, body["id_token"].(string))
		if at["iss"] != issuer || id["iss"] != issuer || id["aud"] != e.native.AppID {
			t.Fatalf("access token iss %v, id token iss %v aud %v", at["iss"], id["iss"], id["aud"])
		}
	})
}
