package oauth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/token"
)

const (
	publicRedirect = "http://localhost/cb"
	confRedirect   = "https://app.example/cb"
	fullScope      = "openid profile email offline_access api://studies/read"
)

func (f *fixture) redeem(clientID, code, redirect, verifier string) url.Values {
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code}, "redirect_uri": {redirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return form
}

func TestAuthorizationCodePublicClientWithPKCE(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce()
	code, g := f.signIn(f.public.AppID, publicRedirect, fullScope, challenge, "n-0S6_WzA2Mj")
	form := f.redeem(f.public.AppID, code, publicRedirect, verifier)
	form.Set("client_info", "1")
	// What MSAL sends besides, which the endpoint ignores.
	form.Set("claims", `{"access_token":{"xms_cc":{"values":["CP1"]}}}`)
	form.Set("x-client-SKU", "MSAL.Go")
	r := f.token(form)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if r.str("token_type") != "Bearer" || r.str("scope") != "api://studies/read openid profile email offline_access" {
		t.Errorf("token_type %q scope %q", r.str("token_type"), r.str("scope"))
	}
	// expires_in and ext_expires_in are JSON numbers on v2.
	var typed struct {
		ExpiresIn    json.Number `json:"expires_in"`
		ExtExpiresIn json.Number `json:"ext_expires_in"`
	}
	json.Unmarshal(r.raw, &typed)
	if typed.ExpiresIn != "3600" || typed.ExtExpiresIn != "3600" || strings.Contains(string(r.raw), `"expires_in":"`) {
		t.Errorf("expires_in %s ext_expires_in %s", typed.ExpiresIn, typed.ExtExpiresIn)
	}
	if !strings.HasPrefix(r.str("refresh_token"), "trt_") {
		t.Errorf("refresh_token %q", r.str("refresh_token"))
	}
	at := claims(t, r.str("access_token"))
	want := map[string]any{"aud": f.api.AppID, "azp": f.public.AppID, "azpacr": token.AuthPublic, "scp": "read", "sid": g.ID,
		"oid": f.user.ObjectID, "sub": f.user.ObjectID, "tid": f.tenant.ID, "ver": "2.0", "name": "Alice",
		"preferred_username": "alice@contoso", "iss": f.srv.URL + "/" + f.tenant.ID + "/v2.0", "idtyp": "user"}
	for k, v := range want {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	if roles, _ := at["roles"].([]any); len(roles) != 1 || roles[0] != "Reader" {
		t.Errorf("roles %v", at["roles"])
	}
	id := claims(t, r.str("id_token"))
	for k, v := range map[string]any{"aud": f.public.AppID, "nonce": "n-0S6_WzA2Mj", "email": "alice@example.com", "sid": g.ID, "sub": f.user.ObjectID} {
		if id[k] != v {
			t.Errorf("id token %s = %v, want %v", k, id[k], v)
		}
	}
	// An ID token carries none of an access token's marks (azp, appid,
	// idtyp, scp, jti), so a resource server can refuse it as one.
	for _, k := range []string{"azp", "appid", "idtyp", "scp", "jti"} {
		if v, ok := id[k]; ok {
			t.Errorf("id token has %s = %v", k, v)
		}
	}
	ci, err := base64.RawURLEncoding.DecodeString(r.str("client_info"))
	var info map[string]string
	if err != nil || json.Unmarshal(ci, &info) != nil || info["uid"] != f.user.ObjectID || info["utid"] != f.tenant.ID {
		t.Errorf("client_info %q", r.str("client_info"))
	}
}

func TestAuthorizationCodeConfidentialClient(t *testing.T) {
	f := newFixture(t)
	code, _ := f.signIn(f.conf.AppID, confRedirect, "openid api://studies/read", "", "")
	// RFC 6749 §3.2.1: a confidential client authenticates; without its
	// secret the code is refused, and stays redeemable.
	r := f.token(f.redeem(f.conf.AppID, code, confRedirect, ""))
	wantError(t, r, 401, "invalid_client", 7000218)
	form := f.redeem(f.conf.AppID, code, confRedirect, "")
	form.Set("client_secret", f.confSecret)
	r = f.token(form)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if at := claims(t, r.str("access_token")); at["azpacr"] != token.AuthSecret {
		t.Errorf("azpacr %v", at["azpacr"])
	}
	// No offline_access, no refresh token (OIDC Core §11); no email scope,
	// no email claim.
	if r.str("refresh_token") != "" || r.str("id_token") == "" || claims(t, r.str("id_token"))["email"] != nil {
		t.Errorf("refresh_token %q, id_token claims %v", r.str("refresh_token"), r.str("id_token"))
	}
}

// TestAuthorizationCodeErrors: every refused redemption is invalid_grant
// and leaves the grant active.
func TestAuthorizationCodeErrors(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce()
	other, _ := pkce()
	cases := []struct {
		name   string
		form   func(code string) url.Values
		noPKCE bool
		aadsts int
	}{
		{name: "RFC 7636 §4.6: wrong code_verifier", aadsts: 501481,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c, publicRedirect, other) }},
		{name: "RFC 7636 §4.5: code_verifier missing for a code with a challenge", aadsts: 501481,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c, publicRedirect, "") }},
		{name: "RFC 7636 §4.1: code_verifier shorter than 43 characters", aadsts: 501481,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c, publicRedirect, verifier[:42]) }},
		{name: "RFC 7636 §4.1: code_verifier with a character outside the unreserved set", aadsts: 501481,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c, publicRedirect, verifier[:42]+"+") }},
		{name: "RFC 9700 §4.8.2: code_verifier for a code issued without a challenge", aadsts: 501481, noPKCE: true,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c, publicRedirect, verifier) }},
		{name: "RFC 6749 §4.1.3: code of another client", aadsts: 70000,
			form: func(c string) url.Values {
				form := f.redeem(f.conf.AppID, c, publicRedirect, verifier)
				form.Set("client_secret", f.confSecret)
				return form
			}},
		{name: "RFC 6749 §4.1.3: redirect_uri differs", aadsts: 50011,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c, "http://localhost/other", verifier) }},
		{name: "RFC 6749 §4.1.3: redirect_uri missing", aadsts: 50011,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c, "", verifier) }},
		{name: "RFC 6749 §5.2: unknown code", aadsts: 70000,
			form: func(c string) url.Values { return f.redeem(f.public.AppID, c+"x", publicRedirect, verifier) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := challenge
			if c.noPKCE {
				ch = ""
			}
			code, g := f.signIn(f.public.AppID, publicRedirect, fullScope, ch, "")
			r := f.token(c.form(code))
			wantError(t, r, 400, "invalid_grant", c.aadsts)
			if r.str("access_token") != "" || !f.grantActive(g.ID) {
				t.Error("a refused code issued a token or ended its grant")
			}
			// Every refusal leaves the code redeemable by its rightful
			// client: the request changed nothing.
			v := verifier
			if c.noPKCE {
				v = ""
			}
			if r := f.token(f.redeem(f.public.AppID, code, publicRedirect, v)); r.status != 200 {
				t.Errorf("a refused request spent the code: %d %s", r.status, r.raw)
			}
		})
	}
	t.Run("RFC 6749 §4.1.2: expired code", func(t *testing.T) {
		code, g := f.signIn(f.public.AppID, publicRedirect, fullScope, challenge, "")
		f.clock.Advance(6 * time.Minute)
		wantError(t, f.token(f.redeem(f.public.AppID, code, publicRedirect, verifier)), 400, "invalid_grant", 70008)
		if !f.grantActive(g.ID) {
			t.Error("an expired code ended its grant")
		}
	})
	t.Run("RFC 6749 §4.1.3: code missing", func(t *testing.T) {
		wantError(t, f.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {f.public.AppID}}), 400, "invalid_request", 900144)
	})
}

// TestAuthorizationCodeReuseRevokesTheGrant: RFC 6749 §4.1.2 — a code
// presented twice revokes every token issued from it.
func TestAuthorizationCodeReuseRevokesTheGrant(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce()
	code, g := f.signIn(f.public.AppID, publicRedirect, fullScope, challenge, "")
	first := f.token(f.redeem(f.public.AppID, code, publicRedirect, verifier))
	if first.status != 200 {
		t.Fatalf("%d %s", first.status, first.raw)
	}
	wantError(t, f.token(f.redeem(f.public.AppID, code, publicRedirect, verifier)), 400, "invalid_grant", 54005)
	if f.grantActive(g.ID) {
		t.Fatal("the grant survived the reuse of its code")
	}
	r := f.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {f.public.AppID}, "refresh_token": {first.str("refresh_token")}})
	wantError(t, r, 400, "invalid_grant", 50173)
}

// TestMultiTenantEndpoints: a code names its tenant, so /common/ and
// /organizations/ redeem it; an app-only token still needs a tenant.
func TestMultiTenantEndpoints(t *testing.T) {
	f := newFixture(t)
	for _, alias := range []string{"common", "organizations"} {
		verifier, challenge := pkce()
		code, _ := f.signIn(f.public.AppID, publicRedirect, fullScope, challenge, "")
		r := f.post("/"+alias+"/oauth2/v2.0/token", f.redeem(f.public.AppID, code, publicRedirect, verifier))
		if r.status != 200 {
			t.Fatalf("%s: %d %s", alias, r.status, r.raw)
		}
		if iss := claims(t, r.str("access_token"))["iss"]; iss != f.srv.URL+"/"+f.tenant.ID+"/v2.0" {
			t.Errorf("%s: iss %v", alias, iss)
		}
		rt := f.post("/"+alias+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {f.public.AppID}, "refresh_token": {r.str("refresh_token")}})
		if rt.status != 200 {
			t.Errorf("%s refresh: %d %s", alias, rt.status, rt.raw)
		}
	}
	r := f.post("/common/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID},
		"client_secret": {f.confSecret}, "scope": {"api://studies/.default"}})
	wantError(t, r, 400, "invalid_request", 90099)
	r = f.post("/common/oauth2/v2.0/token", f.redeem(f.public.AppID, "tac_not-a-tenant", publicRedirect, ""))
	wantError(t, r, 400, "invalid_grant", 70000)
}

// TestAuthorizationCodeV1: the v1 endpoint with a resource answers with
// Entra's v1 fields, strings included, and a v1 resource gets a v1 token
// whose aud is the resource as requested.
func TestAuthorizationCodeV1(t *testing.T) {
	f := newFixture(t)
	f.consent(f.public.AppID, "https://legacy.example/api/user_impersonation")
	code, g := f.signIn(f.public.AppID, publicRedirect, "openid", "", "")
	form := f.redeem(f.public.AppID, code, publicRedirect, "")
	form.Set("resource", "https://legacy.example/api")
	r := f.post("/"+f.tenant.ID+"/oauth2/token", form)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	for _, k := range []string{"expires_in", "ext_expires_in", "expires_on", "not_before", "resource"} {
		if _, ok := r.body[k].(string); !ok {
			t.Errorf("%s = %#v, want a string", k, r.body[k])
		}
	}
	if r.str("resource") != "https://legacy.example/api" || r.str("refresh_token") == "" || r.str("id_token") == "" {
		t.Errorf("v1 body %s", r.raw)
	}
	at := claims(t, r.str("access_token"))
	for k, v := range map[string]any{"aud": "https://legacy.example/api", "ver": "1.0", "appid": f.public.AppID, "appidacr": "0",
		"scp": "user_impersonation", "upn": "alice@contoso", "sid": g.ID, "iss": f.srv.URL + "/" + f.tenant.ID + "/"} {
		if at[k] != v {
			t.Errorf("v1 token %s = %v, want %v", k, at[k], v)
		}
	}
	if claims(t, r.str("id_token"))["ver"] != "1.0" {
		t.Error("the v1 endpoint's id_token is not v1")
	}
}

// TestAuthorizationCodeWithoutResource: only OIDC scopes — the access
// token is for the client itself.
func TestAuthorizationCodeWithoutResource(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce()
	code, _ := f.signIn(f.public.AppID, publicRedirect, "openid profile", challenge, "")
	r := f.token(f.redeem(f.public.AppID, code, publicRedirect, verifier))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if at := claims(t, r.str("access_token")); at["aud"] != f.public.AppID || at["scp"] != "openid profile" {
		t.Errorf("aud %v scp %v", at["aud"], at["scp"])
	}
	if r.str("scope") != "openid profile" || r.str("refresh_token") != "" {
		t.Errorf("scope %q refresh_token %q", r.str("scope"), r.str("refresh_token"))
	}
}
