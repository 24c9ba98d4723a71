package oauth_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// adfsToken posts to the AD FS–shaped authority's token endpoint.
func (f *fixture) adfsToken(form url.Values) response {
	f.t.Helper()
	return f.post("/adfs/oauth2/token", form)
}

// TestADFSDiscovery: the document MSAL reads for an authority ending in
// /adfs (OpenID Connect Discovery 1.0 §3): its issuer is the authority,
// every endpoint is under it and answers; the keys are the server's.
func TestADFSDiscovery(t *testing.T) {
	f := newFixture(t)
	r := f.get("/adfs/.well-known/openid-configuration")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Cache-Control"), "public") {
		t.Fatalf("%d %s %v", r.status, r.raw, r.header)
	}
	base := f.srv.URL + "/adfs"
	for k, want := range map[string]string{"issuer": base, "authorization_endpoint": base + "/oauth2/authorize", "token_endpoint": base + "/oauth2/token",
		"device_authorization_endpoint": base + "/oauth2/devicecode", "end_session_endpoint": base + "/oauth2/logout", "jwks_uri": base + "/discovery/keys"} {
		if r.str(k) != want {
			t.Errorf("%s = %q, want %q", k, r.str(k), want)
		}
	}
	for k, v := range r.body {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "http") && !strings.HasPrefix(s, base+"/") && s != base {
			t.Errorf("%s = %s is not under the authority", k, s)
		}
	}
	if keys, common := f.get("/adfs/discovery/keys"), f.get("/common/discovery/keys"); keys.status != 200 || string(keys.raw) != string(common.raw) {
		t.Errorf("keys: %d %s", keys.status, keys.raw)
	}
	golden(t, "discovery_adfs", r.raw)
}

// TestADFSTokenEndpoint: /adfs/oauth2/token serves every grant as the
// tenant's v2 endpoint does, finding the tenant itself. Rows name the
// rule.
func TestADFSTokenEndpoint(t *testing.T) {
	f := newFixture(t)
	f.consent(f.public.AppID, "https://legacy.example/api/user_impersonation")
	adfsIss, v2Iss := f.srv.URL+"/adfs", token.Issuer(f.srv.URL, f.tenant.ID, 2)
	verifier, challenge := pkce()
	code, _ := f.signIn(f.public.AppID, publicRedirect, fullScope, challenge, "n-1")
	codeTokens := f.adfsToken(f.redeem(f.public.AppID, code, publicRedirect, verifier))
	if codeTokens.status != 200 {
		t.Fatalf("code: %d %s", codeTokens.status, codeTokens.raw)
	}
	for _, tc := range []struct {
		rule string
		form url.Values
		// aud of the access token, iss of the ID token ("" for none)
		aud, idIss string
	}{
		{"a code redeemed: the ID token's iss is the authority's (OIDC Core §3.1.3.7)", nil, f.api.AppID, adfsIss},
		{"password grant, the client registered in one tenant decides it", f.ropc("alice", password, "openid api://studies/read"), f.api.AppID, adfsIss},
		{"resource as v1 reads it (ADAL, AD FS)", url.Values{"grant_type": {"password"}, "client_id": {f.public.AppID}, "username": {"alice"}, "password": {password},
			"scope": {"openid"}, "resource": {"https://legacy.example/api"}}, "https://legacy.example/api", adfsIss},
		{"a scope naming a resource wins over resource, as at the v2 endpoint", url.Values{"grant_type": {"password"}, "client_id": {f.public.AppID}, "username": {"alice"}, "password": {password},
			"scope": {"api://studies/read"}, "resource": {"https://legacy.example/api"}}, f.api.AppID, ""},
		{"the refresh token rotates there too", url.Values{"grant_type": {"refresh_token"}, "client_id": {f.public.AppID}, "refresh_token": {codeTokens.str("refresh_token")}}, f.api.AppID, adfsIss},
		{"client credentials with resource", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "resource": {"api://studies"}}, f.api.AppID, ""},
		{"client credentials with scope", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "scope": {"api://studies/.default"}}, f.api.AppID, ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			r := codeTokens
			if tc.form != nil {
				r = f.adfsToken(tc.form)
			}
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			at := claims(t, r.str("access_token"))
			// Access tokens keep the tenant's issuer: resource servers
			// validate them against the tenant.
			if at["aud"] != tc.aud || at["tid"] != f.tenant.ID || !strings.HasPrefix(at["iss"].(string), f.srv.URL+"/"+f.tenant.ID+"/") {
				t.Errorf("access token %v", at)
			}
			if tc.idIss == "" {
				return
			}
			id := claims(t, r.str("id_token"))
			if id["iss"] != tc.idIss || id["aud"] != f.public.AppID || id["tid"] != f.tenant.ID {
				t.Errorf("id token %v", id)
			}
		})
	}
	// The same code path at the tenant's endpoint: the tenant's issuer.
	r := f.token(f.ropc("alice", password, "openid api://studies/read"))
	if id := claims(t, r.str("id_token")); id["iss"] != v2Iss {
		t.Errorf("tenant endpoint's ID token iss %v", id["iss"])
	}
}

// TestADFSTenantResolution: a client registered in several tenants (the
// CLI's, in every one) lets the user's domain or the value presented
// decide; with neither, and no home tenant, the request must name one.
func TestADFSTenantResolution(t *testing.T) {
	f := newFixture(t)
	must(f.dir.CreateTenantWithAdmin(f.ctx, directory.TenantSpec{Domain: "fabrikam"}))
	cli := func(username string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {directory.CLIClientID}, "username": {username}, "password": {password}, "scope": {"openid profile offline_access"}}
	}
	r := f.adfsToken(cli("alice@contoso"))
	if r.status != 200 || claims(t, r.str("access_token"))["tid"] != f.tenant.ID {
		t.Fatalf("the username's domain: %d %s", r.status, r.raw)
	}
	// The refresh token names its tenant (session.TenantOf).
	r = f.adfsToken(url.Values{"grant_type": {"refresh_token"}, "client_id": {directory.CLIClientID}, "refresh_token": {r.str("refresh_token")}})
	if r.status != 200 || claims(t, r.str("access_token"))["tid"] != f.tenant.ID {
		t.Fatalf("the refresh token's tenant: %d %s", r.status, r.raw)
	}
	// alice is not in fabrikam: a wrong credential there, not a hint that
	// she exists elsewhere.
	wantError(t, f.adfsToken(cli("alice@fabrikam")), 400, "invalid_grant", 50126)
	// The device flow of a client that several tenants register, with no
	// home tenant, has nowhere to go.
	r = f.post("/adfs/oauth2/devicecode", url.Values{"client_id": {directory.CLIClientID}, "scope": {"openid"}})
	wantError(t, r, 400, "invalid_request", 90099)
	for _, name := range []string{"alice", "alice@nowhere.example"} {
		wantError(t, f.adfsToken(cli(name)), 400, "invalid_request", 90099)
	}
}

// TestADFSDeviceAuthorization: /adfs/oauth2/devicecode starts the flow in
// the client's tenant, at the v2 rules plus resource; the message the
// Azure CLI prints alone names the page and the code.
func TestADFSDeviceAuthorization(t *testing.T) {
	f := newFixture(t)
	f.consent(f.public.AppID, "https://legacy.example/api/user_impersonation")
	for _, form := range []url.Values{
		{"client_id": {f.public.AppID}, "scope": {fullScope}},
		{"client_id": {f.public.AppID}, "resource": {"https://legacy.example/api"}},
	} {
		r := f.post("/adfs/oauth2/devicecode", form)
		if r.status != 200 {
			t.Fatalf("%v: %d %s", form, r.status, r.raw)
		}
		uri, code := f.srv.URL+"/"+f.tenant.ID+"/devicelogin", r.str("user_code")
		if r.str("verification_uri") != uri || code == "" || !strings.Contains(r.str("message"), uri) || !strings.Contains(r.str("message"), code) {
			t.Errorf("device authorization %s", r.raw)
		}
		g := f.approve(code, fullScope)
		tok := f.adfsToken(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {f.public.AppID}, "device_code": {r.str("device_code")}})
		if tok.status != 200 || claims(t, tok.str("access_token"))["sid"] != g.ID {
			t.Errorf("poll: %d %s", tok.status, tok.raw)
		}
	}
	wantError(t, f.post("/adfs/oauth2/devicecode", url.Values{"client_id": {f.public.AppID}}), 400, "invalid_request", 900144)
}
