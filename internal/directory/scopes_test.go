package directory_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestDecideScopes: the one reading of consent policy, as a pure function
// of the request, the client, the user and the consents stored. Usable
// and Refused are the rule of every grant that cannot ask the user (the
// token endpoint, the product login); Granted and Missing are what the
// consent page shows and records.
func TestDecideScopes(t *testing.T) {
	const user, bob = "u-1", "u-2"
	client := directory.Application{AppID: "33333333-3333-4333-8333-333333333333"}
	api := directory.Resource{App: directory.Application{AppID: "11111111-1111-4111-8111-111111111111",
		Scopes: []directory.Scope{{Value: "read", Enabled: true}, {Value: "write", Enabled: true}}}}
	other := directory.Resource{App: directory.Application{AppID: "22222222-2222-4222-8222-222222222222",
		Scopes: []directory.Scope{{Value: "read", Enabled: true}}}}
	bare := directory.Resource{App: directory.Application{AppID: "44444444-4444-4444-8444-444444444444"}}
	preauth := api
	preauth.App.PreAuthorized = []directory.PreAuthorizedApplication{{AppID: client.AppID, Scopes: []string{"write"}}}
	rs := func(r directory.Resource, prefix string, def bool, values ...string) directory.ResourceScopes {
		return directory.ResourceScopes{Resource: r, Prefix: prefix, Values: values, Default: def}
	}
	req := func(oidc []string, r ...directory.ResourceScopes) directory.ScopeRequest {
		return directory.ScopeRequest{OIDC: oidc, Resources: r}
	}
	consent := func(principal, resource string, scopes ...string) directory.ConsentGrant {
		return directory.ConsentGrant{ClientID: client.AppID, ResourceAppID: resource, PrincipalID: principal, Scopes: scopes}
	}
	for _, tc := range []struct {
		name     string
		q        directory.ScopeRequest
		consents []directory.ConsentGrant
		usable   directory.ScopeRequest
		refused  []string
		missing  string // Missing.Strings(), space separated
	}{
		{"every scope consented: all usable, nothing missing",
			req([]string{"openid"}, rs(api, "api://a", false, "read")),
			[]directory.ConsentGrant{consent(user, directory.OIDCResource, "openid"), consent(user, api.App.AppID, "read")},
			req([]string{"openid"}, rs(api, "api://a", false, "read")), nil, ""},
		{"RFC 6749 §6: a scope whose consent is gone is refused, whatever the grant held",
			req([]string{"openid"}, rs(api, "api://a", false, "read")),
			[]directory.ConsentGrant{consent(user, directory.OIDCResource, "openid")},
			req(nil), []string{"api://a/read"}, "api://a/read"},
		{"an OIDC scope whose consent is gone is refused",
			req([]string{"openid", "offline_access"}),
			[]directory.ConsentGrant{consent(user, directory.OIDCResource, "openid")},
			req(nil), []string{"offline_access"}, "offline_access"},
		{"a request naming two resources is refused when one of them lost its consent",
			req(nil, rs(other, "api://o", false, "read"), rs(api, "api://a", false, "read")),
			[]directory.ConsentGrant{consent(user, other.App.AppID, "read")},
			req(nil), []string{"api://a/read"}, "api://a/read"},
		{".default takes the scopes needing no consent and asks none",
			req(nil, rs(api, "api://a", true)),
			[]directory.ConsentGrant{consent(user, api.App.AppID, "read")},
			req(nil, rs(api, "api://a", true, "read")), nil, ""},
		{".default with no scope usable without consent is refused; every exposed scope is offered",
			req(nil, rs(api, "api://a", true)),
			nil,
			req(nil), []string{"api://a/.default"}, "api://a/read api://a/write"},
		{".default of a resource exposing no scope: usable, empty (roles only)",
			req(nil, rs(bare, "api://b", true)),
			nil,
			req(nil, rs(bare, "api://b", true)), nil, ""},
		{"another user's consent counts for nothing",
			req(nil, rs(api, "api://a", false, "read")),
			[]directory.ConsentGrant{consent(bob, api.App.AppID, "read")},
			req(nil), []string{"api://a/read"}, "api://a/read"},
		{"an admin's consent for all principals counts for every user",
			req([]string{"openid"}, rs(api, "api://a", false, "read")),
			[]directory.ConsentGrant{consent(directory.AllPrincipals, directory.OIDCResource, "openid"), consent(directory.AllPrincipals, api.App.AppID, "read")},
			req([]string{"openid"}, rs(api, "api://a", false, "read")), nil, ""},
		{"a pre-authorized client needs no consent to the pre-authorized scope",
			req(nil, rs(preauth, "api://a", false, "write")),
			nil,
			req(nil, rs(preauth, "api://a", false, "write")), nil, ""},
		{"pre-authorization is for its scopes only",
			req(nil, rs(preauth, "api://a", false, "read")),
			nil,
			req(nil), []string{"api://a/read"}, "api://a/read"},
		{".default of a pre-authorized client takes the pre-authorized scopes",
			req(nil, rs(preauth, "api://a", true)),
			nil,
			req(nil, rs(preauth, "api://a", true, "write")), nil, ""},
		{"a consent to a scope the resource no longer exposes is not offered by .default",
			req(nil, rs(api, "api://a", true)),
			[]directory.ConsentGrant{consent(user, api.App.AppID, "read", "gone")},
			req(nil, rs(api, "api://a", true, "read")), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := directory.DecideScopes(tc.q, client, user, tc.consents)
			if !reflect.DeepEqual(d.Refused, tc.refused) {
				t.Fatalf("refused %v, want %v", d.Refused, tc.refused)
			}
			if got := strings.Join(d.Missing.Strings(), " "); got != tc.missing {
				t.Errorf("missing %q, want %q", got, tc.missing)
			}
			// Whatever is missing is part of what is granted once consented.
			for _, m := range d.Missing.Strings() {
				if !slices.Contains(d.Granted.Strings(), m) {
					t.Errorf("missing %q is not in granted %v", m, d.Granted.Strings())
				}
			}
			if len(tc.refused) > 0 {
				return
			}
			if !reflect.DeepEqual(d.Usable, tc.usable) {
				t.Errorf("usable %+v, want %+v", d.Usable, tc.usable)
			}
		})
	}
}
