package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestAuthorizeUserToken: every user grant's one question before minting,
// one row per rule it reads.
func TestAuthorizeUserToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tid := e.tenant.ID
	reader := []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser}}}
	api := e.app(t, directory.ApplicationSpec{DisplayName: "api", IdentifierURIs: []string{"api://studies"}, AppRoles: reader,
		Scopes: []directory.Scope{{Value: "read", Enabled: true}, {Value: "write", Enabled: true}}}, true)
	locked := e.app(t, directory.ApplicationSpec{DisplayName: "locked", IdentifierURIs: []string{"api://locked"}, AppRoles: reader,
		Scopes: []directory.Scope{{Value: "read", Enabled: true}}}, false)
	if _, err := e.dir.CreateServicePrincipal(ctx, tid, directory.ServicePrincipalSpec{AppID: locked.AppID, AppRoleAssignmentRequired: true}); err != nil {
		t.Fatal(err)
	}
	clientApp := e.app(t, directory.ApplicationSpec{DisplayName: "client", PublicClient: true}, true)
	sp, err := e.dir.GetServicePrincipal(ctx, tid, clientApp.AppID)
	if err != nil {
		t.Fatal(err)
	}
	client := directory.Client{App: clientApp, SP: sp}
	alice, _ := e.dir.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "alice", Password: pw})
	bob, _ := e.dir.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "bob", Password: pw})
	if _, err := e.dir.SetUserEnabled(ctx, tid, bob.ObjectID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AssignRole(ctx, tid, directory.AssignmentSpec{Principal: alice.ObjectID, Resource: api.AppID, Role: "Reader"}); err != nil {
		t.Fatal(err)
	}
	scopes := func(s string) directory.ScopeRequest {
		q, err := e.dir.ParseScopes(ctx, tid, s, "")
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	if err := e.dir.Consent(ctx, tid, clientApp.AppID, alice.ObjectID, scopes("openid api://studies/read api://locked/read")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rule   string
		ask    directory.UserTokenAsk
		want   error
		scopes string // the decided scopes, when allowed
		roles  string
	}{
		{"consented scopes, the user's roles on the audience",
			directory.UserTokenAsk{UserID: alice.ObjectID, Scopes: scopes("openid api://studies/read")}, nil, "openid api://studies/read", "Reader"},
		{"a user who authenticated now is not loaded again",
			directory.UserTokenAsk{User: &alice, Scopes: scopes("openid api://studies/read")}, nil, "openid api://studies/read", "Reader"},
		{"no resource: the token is for the client, no roles",
			directory.UserTokenAsk{UserID: alice.ObjectID, Scopes: scopes("openid")}, nil, "openid", ""},
		{"a user gone since the grant was made",
			directory.UserTokenAsk{UserID: "00000000-0000-4000-8000-00000000dead", Scopes: scopes("openid")}, directory.ErrNotFound, "", ""},
		{"a user disabled since the grant was made",
			directory.UserTokenAsk{UserID: bob.ObjectID, Scopes: scopes("openid")}, directory.ErrUserDisabled, "", ""},
		{"RFC 6749 §6: a scope without consent is refused",
			directory.UserTokenAsk{UserID: alice.ObjectID, Scopes: scopes("openid api://studies/write")}, directory.ErrConsentRequired, "", ""},
		{"a grant that asks no consent drops what needs it",
			directory.UserTokenAsk{UserID: alice.ObjectID, Scopes: scopes("api://studies/read api://studies/write"), DropUnconsented: true},
			nil, "api://studies/read", "Reader"},
		{"RFC 6749 §6: a refresh naming no scope asks for what its grant holds, less resources gone since",
			directory.UserTokenAsk{UserID: alice.ObjectID, Raw: true, Held: []string{"openid", "api://studies/read", "api://gone/read"}},
			nil, "openid api://studies/read", "Reader"},
		{"a refresh naming its scope asks for that one",
			directory.UserTokenAsk{UserID: alice.ObjectID, Raw: true, Scope: "api://studies/read", Held: []string{"openid"}},
			nil, "api://studies/read", "Reader"},
		{"RFC 6749 §3.3: a scope the resource does not expose is invalid",
			directory.UserTokenAsk{UserID: alice.ObjectID, Raw: true, Scope: "api://studies/delete"}, directory.ErrInvalidScope, "", ""},
		{"a resource requiring assignment refuses a user holding none of its roles",
			directory.UserTokenAsk{UserID: alice.ObjectID, Scopes: scopes("api://locked/read")}, directory.ErrUserNotAssigned, "", ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			tc.ask.Tenant, tc.ask.Client = e.tenant, client
			got, err := e.dir.AuthorizeUserToken(ctx, tc.ask)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			if s := strings.Join(got.Scopes.Strings(), " "); s != tc.scopes {
				t.Errorf("scopes %q, want %q", s, tc.scopes)
			}
			if r := strings.Join(got.Roles, " "); r != tc.roles {
				t.Errorf("roles %q, want %q", r, tc.roles)
			}
			if got.User.ObjectID != alice.ObjectID {
				t.Errorf("user %s", got.User.ObjectID)
			}
		})
	}
}
