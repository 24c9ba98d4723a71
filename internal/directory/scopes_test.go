package directory_test

import (
	"reflect"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestDecideScopes: the consent rule of every grant that cannot ask the
// user, as a pure function of Permissions' answer.
func TestDecideScopes(t *testing.T) {
	api := directory.Resource{App: directory.Application{AppID: "11111111-1111-4111-8111-111111111111",
		Scopes: []directory.Scope{{Value: "read", Enabled: true}, {Value: "write", Enabled: true}}}}
	other := directory.Resource{App: directory.Application{AppID: "22222222-2222-4222-8222-222222222222",
		Scopes: []directory.Scope{{Value: "read", Enabled: true}}}}
	rs := func(r directory.Resource, prefix string, def bool, values ...string) directory.ResourceScopes {
		return directory.ResourceScopes{Resource: r, Prefix: prefix, Values: values, Default: def}
	}
	req := func(oidc []string, r ...directory.ResourceScopes) directory.ScopeRequest {
		return directory.ScopeRequest{OIDC: oidc, Resources: r}
	}
	for _, tc := range []struct {
		name             string
		q, granted, miss directory.ScopeRequest
		want             directory.ScopeRequest
		refused          []string
	}{
		{"every scope consented: all granted",
			req([]string{"openid"}, rs(api, "api://a", false, "read")),
			req([]string{"openid"}, rs(api, "api://a", false, "read")),
			req(nil),
			req([]string{"openid"}, rs(api, "api://a", false, "read")), nil},
		{"RFC 6749 §6: a scope whose consent is gone is refused, whatever the grant held",
			req([]string{"openid"}, rs(api, "api://a", false, "read")),
			req([]string{"openid"}, rs(api, "api://a", false, "read")),
			req(nil, rs(api, "api://a", false, "read")),
			req(nil), []string{"api://a/read"}},
		{"an OIDC scope whose consent is gone is refused",
			req([]string{"openid", "offline_access"}),
			req([]string{"openid", "offline_access"}),
			req([]string{"offline_access"}),
			req(nil), []string{"offline_access"}},
		{"a request naming two resources is refused when one of them lost its consent",
			req(nil, rs(other, "api://o", false, "read"), rs(api, "api://a", false, "read")),
			req(nil, rs(other, "api://o", false, "read"), rs(api, "api://a", false, "read")),
			req(nil, rs(api, "api://a", false, "read")),
			req(nil), []string{"api://a/read"}},
		{".default takes the scopes needing no consent and drops the rest",
			req(nil, rs(api, "api://a", true)),
			req(nil, rs(api, "api://a", false, "read", "write")),
			req(nil, rs(api, "api://a", false, "write")),
			req(nil, rs(api, "api://a", true, "read")), nil},
		{".default with no scope usable without consent is refused",
			req(nil, rs(api, "api://a", true)),
			req(nil, rs(api, "api://a", false, "read", "write")),
			req(nil, rs(api, "api://a", false, "read", "write")),
			req(nil), []string{"api://a/.default"}},
		{".default of a resource exposing no scope: granted, empty (roles only)",
			req(nil, rs(other, "api://o", true)),
			req(nil, rs(other, "api://o", false)),
			req(nil),
			req(nil, rs(other, "api://o", true)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, refused := directory.DecideScopes(tc.q, tc.granted, tc.miss)
			if !reflect.DeepEqual(refused, tc.refused) {
				t.Fatalf("refused %v, want %v", refused, tc.refused)
			}
			if len(tc.refused) > 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
