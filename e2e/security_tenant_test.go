package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/directory"
)

// TestSecurityTenantBinding: whatever tenant A issued — a code, a refresh
// token, a device code and its user code, a browser session, a client
// assertion addressed to A, a client secret, an access token — fails at
// tenant B's endpoints, although B holds the same client ids (the
// well-known ones, the only ids two tenants may share: the CLI's public
// client, and the management application as a confidential client with
// the same certificate) and a user of the same name; and the failure
// changes nothing at A. (Store-level isolation is the conformance
// suite's; this is the protocol's.)
func TestSecurityTenantBinding(t *testing.T) {
	e := newSecEnv(t)
	ctx := context.Background()
	d := e.h.srv.Directory
	tb, err := d.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	A, B := e.tid, tb.ID
	apiB, _, webB, secretB := e.populate(t, B)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	twinSecretA := e.twin(t, A, key)
	twinSecretB := e.twin(t, B, key)
	bA := e.signedIn(t, A)
	codeOf := func(t *testing.T) string { return e.code(t, bA, A, twinAuthorize(nil)).Get("code") }
	rtOf := func(t *testing.T) string {
		status, body := e.token(A, e.twinRedeem(codeOf(t)))
		wantTokens(t, status, body)
		return body["refresh_token"].(string)
	}
	refresh := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {secTwinPublic}, "refresh_token": {rt}}
	}
	device := func(dc string) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {secTwinPublic}, "device_code": {dc}}
	}
	secret := func(client, s string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "scope": {"api://studies/.default"}, "client_id": {client}, "client_secret": {s}}
	}
	asTwin := func(c map[string]any) { c["iss"], c["sub"] = secTwinConfidential, secTwinConfidential }

	for _, tc := range []struct {
		name string
		// issue makes the value at A and returns the request for B's
		// endpoint and the request that must still work at A after.
		issue        func(t *testing.T) (atB, atA url.Values)
		bTenant      string // B's path segment: its id or its domain
		status       int
		code         string
		afterAStatus int    // 200, or an error status
		afterACode   string // the error code at A afterwards
		aTenant      string // A's path segment afterwards; "" for its id
	}{
		{"authorization_code: A's code at B", func(t *testing.T) (url.Values, url.Values) {
			f := e.twinRedeem(codeOf(t))
			return f, f
		}, B, 400, "invalid_grant", 200, "", ""},
		{"authorization_code: A's code at B's domain endpoint", func(t *testing.T) (url.Values, url.Values) {
			f := e.twinRedeem(codeOf(t))
			return f, f
		}, "fabrikam", 400, "invalid_grant", 200, "", ""},
		{"refresh_token: A's refresh token at B", func(t *testing.T) (url.Values, url.Values) {
			f := refresh(rtOf(t))
			return f, f
		}, B, 400, "invalid_grant", 200, "", ""},
		{"device_code: A's device code at B", func(t *testing.T) (url.Values, url.Values) {
			dc, _, _, err := e.h.srv.Sessions.StartDevice(ctx, A, secTwinPublic, []string{"openid"}, "")
			if err != nil {
				t.Fatal(err)
			}
			return device(dc), device(dc)
		}, B, 400, "invalid_grant", 400, "authorization_pending", ""},
		{"client_credentials: private_key_jwt addressed to A, at B", func(t *testing.T) (url.Values, url.Values) {
			f := e.assertionForm(e.assertion(t, key, jose.RS256, A, asTwin))
			return f, f
		}, B, 401, "invalid_client", 200, "", ""},
		{"client_credentials: private_key_jwt addressed to A by domain, at B", func(t *testing.T) (url.Values, url.Values) {
			f := e.assertionForm(e.assertion(t, key, jose.RS256, "default", asTwin))
			return f, f
		}, B, 401, "invalid_client", 200, "", "default"},
		{"client_credentials: A's client secret at B", func(t *testing.T) (url.Values, url.Values) {
			return secret(secTwinConfidential, twinSecretA), secret(secTwinConfidential, twinSecretA)
		}, B, 401, "invalid_client", 200, "", ""},
		{"client_credentials: A's own client at B, which cannot register its id", func(t *testing.T) (url.Values, url.Values) {
			return secret(e.web.AppID, e.webSecret), secret(e.web.AppID, e.webSecret)
		}, B, 401, "invalid_client", 200, "", ""},
		{"password: A's user at B", func(t *testing.T) (url.Values, url.Values) {
			f := url.Values{"grant_type": {"password"}, "client_id": {secTwinPublic}, "scope": {"openid api://studies/read"},
				"username": {"alice@default"}, "password": {alicePassword}}
			return f, f
		}, B, 400, "invalid_grant", 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			atB, atA := tc.issue(t)
			status, body := e.token(tc.bTenant, atB)
			wantOAuthError(t, status, body, tc.status, tc.code)
			aTenant := A
			if tc.aTenant != "" {
				aTenant = tc.aTenant
			}
			status, body = e.token(aTenant, atA)
			if tc.afterAStatus == 200 {
				wantTokens(t, status, body)
			} else {
				wantOAuthError(t, status, body, tc.afterAStatus, tc.afterACode)
			}
		})
	}
	t.Run("control: B's own client secret and assertion work at B", func(t *testing.T) {
		status, body := e.token(B, secret(secTwinConfidential, twinSecretB))
		wantTokens(t, status, body)
		status, body = e.token(B, secret(webB.AppID, secretB))
		wantTokens(t, status, body)
		status, body = e.token(B, e.assertionForm(e.assertion(t, key, jose.RS256, B, asTwin)))
		wantTokens(t, status, body)
	})
	t.Run("device code: A's user code at B's devicelogin", func(t *testing.T) {
		dc, uc, _, err := e.h.srv.Sessions.StartDevice(ctx, A, secTwinPublic, []string{"openid"}, "")
		if err != nil {
			t.Fatal(err)
		}
		enter := func(tenant string) page {
			b := e.h.newBrowser(t)
			p, _ := b.get(e.h.srv.URL + "/" + tenant + "/devicelogin")
			p, next := b.submit(p.form(t, "device"), url.Values{"user_code": {uc}}, "")
			if next != nil {
				t.Fatalf("redirected to %s", next)
			}
			return p
		}
		if p := enter(B); p.kind != "device" || !strings.Contains(p.message(), "not right") {
			t.Fatalf("at B: page %q: %s", p.kind, p.message())
		}
		if p := enter(A); p.kind != "signin" {
			t.Fatalf("at A afterwards: page %q: %s", p.kind, p.message())
		}
		status, body := e.token(A, device(dc))
		wantOAuthError(t, status, body, 400, "authorization_pending")
	})
	t.Run("browser session: A's session cookie presented as B's", func(t *testing.T) {
		b := e.signedIn(t, A)
		base, _ := url.Parse(e.h.srv.URL)
		var value string
		for _, c := range b.c.Jar.Cookies(base) {
			if c.Name == "__Host-tessera_sso_"+strings.ReplaceAll(A, "-", "") {
				value = c.Value
			}
		}
		if value == "" {
			t.Fatal("no session cookie for A")
		}
		b.c.Jar.SetCookies(base, []*http.Cookie{{Name: "__Host-tessera_sso_" + strings.ReplaceAll(B, "-", ""), Value: value, Path: "/", Secure: true}})
		p, next := b.get(e.authorizeURL(B, twinAuthorize(nil)))
		if next != nil || p.kind != "signin" {
			t.Fatalf("at B: page %q, redirect %v; want the sign-in page", p.kind, next)
		}
		if q := e.code(t, b, A, twinAuthorize(nil)); q.Get("code") == "" {
			t.Fatalf("at A afterwards: %v", q)
		}
	})
	t.Run("revocation: A's refresh token revoked at B changes nothing", func(t *testing.T) {
		rt := rtOf(t)
		status, body, _ := e.h.postForm("/"+B+"/oauth2/v2.0/revoke", url.Values{"client_id": {secTwinPublic}, "token": {rt}}, "", "")
		if status != 200 && body["error"] == nil {
			t.Fatalf("revoke at B: %d %v", status, body)
		}
		status, body = e.token(A, refresh(rt))
		wantTokens(t, status, body)
	})
	t.Run("introspection: A's access token is inactive at B", func(t *testing.T) {
		status, body := e.token(A, e.twinRedeem(codeOf(t)))
		wantTokens(t, status, body)
		at := body["access_token"].(string)
		if e.introspectAt(t, B, secTwinConfidential, twinSecretB, at) {
			t.Error("active at B")
		}
		if !e.introspectAt(t, A, secTwinConfidential, twinSecretA, at) {
			t.Error("inactive at A")
		}
	})
	t.Run("guard: a resource server of B refuses A's access token", func(t *testing.T) {
		// B's guard accepts A's API's audience too: only the issuer may
		// refuse A's token.
		g, err := guard.New(ctx, guard.Config{Authority: e.h.srv.URL + "/" + B + "/v2.0", Audiences: []string{e.api.AppID, apiB.AppID}, HTTPClient: e.h.http})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if _, err := g.Validate(ctx, e.h.clientCredentials(e.web.AppID, e.webSecret, "api://studies/.default", false)); err == nil {
			t.Error("B's guard accepted A's token")
		}
		status, body := e.token(B, secret(webB.AppID, secretB))
		wantTokens(t, status, body)
		if _, err := g.Validate(ctx, body["access_token"].(string)); err != nil {
			t.Errorf("B's guard refused B's token: %v", err)
		}
	})
}
