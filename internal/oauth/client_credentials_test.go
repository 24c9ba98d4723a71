package oauth_test

import (
	"net/url"
	"testing"
)

// TestClientCredentialsIgnoresOIDCScopes: MSAL sends "{resource}/.default
// openid offline_access profile" for app tokens too; Entra ignores the
// OpenID Connect scopes there, and so does tessera. Two resources are
// still refused.
func TestClientCredentialsIgnoresOIDCScopes(t *testing.T) {
	f := newFixture(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret},
		"scope": {"api://studies/.default openid offline_access profile"}}
	r := f.token(form)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if c := claims(t, r.str("access_token")); c["aud"] != f.api.AppID || c["scp"] != nil {
		t.Errorf("claims %v", c)
	}
	form.Set("scope", "api://studies/.default https://legacy.example/api/.default openid")
	wantError(t, f.token(form), 400, "invalid_scope", 0)
}
