package e2e

import (
	"net/url"
	"strings"
	"testing"
)

// TestSecurityPKCE: RFC 9700 §2.1.1 and §4.8 (PKCE downgrade). Public
// clients must send a code_challenge, only S256 is accepted, and the token
// endpoint holds the code to what the authorization request said.
func TestSecurityPKCE(t *testing.T) {
	e := newSecEnv(t)
	// At the authorization endpoint: the error goes to the (registered)
	// redirect URI as invalid_request, before anyone signs in.
	for _, tc := range []struct {
		name string
		set  url.Values
		ok   bool
	}{
		{"§2.1.1 public client with S256", nil, true},
		{"§2.1.1 public client without code_challenge", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, false},
		{"§2.1.1 code_challenge_method plain", url.Values{"code_challenge": {secVerifier}, "code_challenge_method": {"plain"}}, false},
		{"§2.1.1 code_challenge_method absent (plain by default)", url.Values{"code_challenge_method": {""}}, false},
		{"§2.1.1 code_challenge_method lower-case s256", url.Values{"code_challenge_method": {"s256"}}, false},
		{"§2.1.1 code_challenge too short (RFC 7636 §4.2)", url.Values{"code_challenge": {secChallenge[:42]}}, false},
		{"§2.1.1 code_challenge with characters outside base64url", url.Values{"code_challenge": {strings.Repeat("+", 43)}}, false},
		{"§2.1.1 code_challenge_method without code_challenge", url.Values{"code_challenge": {""}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, next := e.h.newBrowser(t).get(e.authorizeURL(e.tid, tc.set))
			if tc.ok {
				if next != nil || p.kind != "signin" {
					t.Fatalf("refused: page %q, redirect %v", p.kind, next)
				}
				return
			}
			if next == nil || next.Query().Get("error") != "invalid_request" || next.Query().Get("code") != "" {
				t.Fatalf("page %q, redirect %v; want invalid_request at the redirect URI", p.kind, next)
			}
		})
	}

	// At the token endpoint.
	b := e.signedIn(t, e.tid)
	web := func(set url.Values) url.Values {
		v := url.Values{"client_id": {e.web.AppID}, "redirect_uri": {secWebRedirect}}
		for k, x := range set {
			v[k] = x
		}
		return v
	}
	webRedeem := func(code string, verifier string) url.Values {
		f := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.AppID}, "client_secret": {e.webSecret},
			"code": {code}, "redirect_uri": {secWebRedirect}}
		if verifier != "" {
			f.Set("code_verifier", verifier)
		}
		return f
	}
	otherVerifier := strings.Repeat("a", 43)
	for _, tc := range []struct {
		name     string
		set      url.Values // the authorization request
		redeem   func(code string) url.Values
		thenWith func(code string) url.Values // the same code then works with this
	}{
		{"§4.8.2 code without challenge redeemed with a code_verifier (downgrade)",
			web(url.Values{"code_challenge": {""}, "code_challenge_method": {""}}),
			func(c string) url.Values { return webRedeem(c, secVerifier) },
			func(c string) url.Values { return webRedeem(c, "") }},
		{"§2.1.1 code with challenge redeemed without code_verifier",
			web(nil),
			func(c string) url.Values { return webRedeem(c, "") },
			func(c string) url.Values { return webRedeem(c, secVerifier) }},
		{"§2.1.1 code redeemed with a wrong code_verifier",
			nil,
			func(c string) url.Values { f := e.redeemForm(c); f.Set("code_verifier", otherVerifier); return f },
			e.redeemForm},
		{"§2.1.1 code redeemed with the challenge as verifier (plain)",
			nil,
			func(c string) url.Values { f := e.redeemForm(c); f.Set("code_verifier", secChallenge); return f },
			e.redeemForm},
		{"§2.1.1 code redeemed with a malformed verifier (RFC 7636 §4.1)",
			nil,
			func(c string) url.Values { f := e.redeemForm(c); f.Set("code_verifier", secVerifier+"!"); return f },
			e.redeemForm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := e.code(t, b, e.tid, tc.set).Get("code")
			if code == "" {
				t.Fatal("no code")
			}
			status, body := e.token(e.tid, tc.redeem(code))
			wantOAuthError(t, status, body, 400, "invalid_grant")
			// A refused redemption spends nothing (RFC 9700 §4.5.3: the
			// attacker must not be able to burn the victim's code).
			status, body = e.token(e.tid, tc.thenWith(code))
			wantTokens(t, status, body)
		})
	}
	t.Run("§4.8.2 discovery offers S256 only", func(t *testing.T) {
		req := getJSON(t, e.h, "/"+e.tid+"/v2.0/.well-known/openid-configuration")
		m, _ := req["code_challenge_methods_supported"].([]any)
		if len(m) != 1 || m[0] != "S256" {
			t.Fatalf("code_challenge_methods_supported %v", req["code_challenge_methods_supported"])
		}
	})
}
