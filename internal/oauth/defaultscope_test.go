package oauth_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestDefaultScopeAnswered: a v2 answer names {resource}/.default when it
// was asked for, as Entra's does (MSAL takes a requested scope missing
// from the answer for a declined one), and a resource whose identifier URI
// ends in a slash (ARM's) round-trips through codes and grants with its
// audience unchanged. Rows name the rule.
func TestDefaultScopeAnswered(t *testing.T) {
	f := newFixture(t)
	f.app(directory.ApplicationSpec{DisplayName: "ARM-like", IdentifierURIs: []string{"https://arm.example/"}, AccessTokenAcceptedVersion: 1,
		Scopes:        []directory.Scope{{Value: "user_impersonation", Enabled: true}},
		PreAuthorized: []directory.PreAuthorizedApplication{{AppID: f.public.AppID, Scopes: []string{"user_impersonation"}}}})
	const asked = "https://arm.example//.default"
	verifier, challenge := pkce()
	code, _ := f.signIn(f.public.AppID, publicRedirect, "openid offline_access https://arm.example//user_impersonation", challenge, "")
	codeForm := f.redeem(f.public.AppID, code, publicRedirect, verifier)
	codeForm.Set("scope", asked+" openid offline_access")
	codeAnswer := f.token(codeForm)
	for _, tc := range []struct {
		rule   string
		answer response
		scope  []string // must be in the answer's scope
		noDef  bool     // .default must not be
		aud    string
	}{
		{"password grant, .default asked", f.token(f.ropc("alice", password, asked+" openid")), []string{asked, "https://arm.example//user_impersonation", "openid"}, false, "https://arm.example/"},
		{"a code redeemed with the scope it was asked with", codeAnswer, []string{asked, "https://arm.example//user_impersonation"}, false, "https://arm.example/"},
		{"a refresh for .default", f.refresh(f.public.AppID, codeAnswer.str("refresh_token"), url.Values{"scope": {asked}}), []string{asked}, false, "https://arm.example/"},
		{"the identifier URI named without its slash", f.token(f.ropc("alice", password, "https://arm.example/.default")), []string{"https://arm.example/.default"}, false, "https://arm.example"},
		{"an explicit scope: no .default in the answer", f.token(f.ropc("alice", password, "https://arm.example//user_impersonation")), []string{"https://arm.example//user_impersonation"}, true, "https://arm.example/"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			r := tc.answer
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			got := strings.Fields(r.str("scope"))
			for _, s := range tc.scope {
				if !slices.Contains(got, s) {
					t.Errorf("scope %q lacks %q", r.str("scope"), s)
				}
			}
			if tc.noDef && strings.Contains(r.str("scope"), ".default") {
				t.Errorf("scope %q", r.str("scope"))
			}
			// A v1 resource's token carries the resource as named: with
			// its slash through a code or a grant as through a password.
			if c := claims(t, r.str("access_token")); c["aud"] != tc.aud || c["scp"] != "user_impersonation" {
				t.Errorf("access token %v", c)
			}
		})
	}
	// The v1 endpoint answers with the resource, and no .default.
	form := f.ropc("alice", password, "openid")
	form.Set("resource", "https://arm.example/")
	if r := f.post("/"+f.tenant.ID+"/oauth2/token", form); r.status != 200 || strings.Contains(r.str("scope"), ".default") || r.str("resource") != "https://arm.example/" {
		t.Errorf("v1: %d %s", r.status, r.raw)
	}
}
