package adminapi

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

const alicePassword = "correct horse battery staple"

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	users := tenantPath(e.contoso, "/users")

	res := e.do("POST", users, tokAdminA, UserCreate{UserPrincipalName: "Alice", DisplayName: "Alice Liddell",
		Mail: "alice@contoso.example", Password: alicePassword}).must(t, 201)
	var alice User
	res.json(t, &alice)
	switch {
	case !directory.IsGUID(alice.ID), alice.TenantID != e.contoso.ID:
		t.Fatalf("ids: %+v", alice)
	case alice.UserPrincipalName != "alice@contoso.example": // a bare name gets the tenant's domain, lower-cased
		t.Errorf("upn %q", alice.UserPrincipalName)
	case !alice.AccountEnabled, alice.LockedUntil != nil, alice.DisplayName != "Alice Liddell":
		t.Errorf("created %+v", alice)
	}
	if loc := res.header.Get("Location"); loc != users+"/"+alice.ID {
		t.Errorf("Location %q", loc)
	}
	// The password is set: the directory accepts it.
	if _, err := e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", alicePassword); err != nil {
		t.Fatalf("the password does not sign in: %v", err)
	}

	var bob User
	e.do("POST", users, tokAdminA, map[string]any{"userPrincipalName": "bob@contoso.example", "accountEnabled": false}).must(t, 201).json(t, &bob)
	if bob.AccountEnabled || bob.DisplayName != "bob" {
		t.Errorf("bob %+v", bob)
	}

	// One user, three names for it; the UPN case-insensitively.
	for _, ref := range []string{alice.ID, "alice@contoso.example", "ALICE@Contoso.Example"} {
		var got User
		e.do("GET", users+"/"+ref, tokAdminA, nil).must(t, 200).json(t, &got)
		if got != alice {
			t.Errorf("GET %s = %+v", ref, got)
		}
	}
	var listed List[User]
	e.do("GET", users, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 2 {
		t.Errorf("list = %+v", listed.Value)
	}

	// Neither the password nor its hash reaches an answer or the log.
	for _, body := range [][]byte{res.body, e.do("GET", users, tokAdminA, nil).body} {
		if s := strings.ToLower(string(body)); strings.Contains(s, "password") || strings.Contains(s, "argon2") || strings.Contains(s, "hash") {
			t.Fatalf("an answer shows a password or hash: %s", body)
		}
	}

	const newPassword = "a much longer passphrase"
	res = e.do("POST", users+"/alice@contoso.example/password", tokAdminA, PasswordSet{Password: newPassword}).must(t, 200)
	if s := strings.ToLower(string(res.body)); strings.Contains(s, "password") || strings.Contains(s, "argon2") {
		t.Fatalf("set-password answer shows the password: %s", res.body)
	}
	if _, err := e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", newPassword); err != nil {
		t.Fatalf("the new password does not sign in: %v", err)
	}
	if _, err := e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", alicePassword); !errors.Is(err, directory.ErrInvalidCredentials) {
		t.Errorf("the old password still signs in: %v", err)
	}
	for _, secret := range []string{alicePassword, newPassword} {
		if strings.Contains(e.log.String(), secret) {
			t.Fatal("a password is in the log")
		}
	}

	// An empty PATCH changes nothing and answers the user.
	var same User
	e.do("PATCH", users+"/"+bob.ID, tokAdminA, UserPatch{}).must(t, 200).json(t, &same)
	if same != bob {
		t.Errorf("empty patch: %+v", same)
	}
	on := true
	e.do("PATCH", users+"/"+bob.ID, tokAdminA, UserPatch{AccountEnabled: &on}).must(t, 200).json(t, &same)
	if !same.AccountEnabled {
		t.Error("PATCH accountEnabled true left bob disabled")
	}

	e.do("DELETE", users+"/bob@contoso.example", tokAdminA, nil).must(t, 204)
	e.do("GET", users+"/"+bob.ID, tokAdminA, nil).must(t, 404)
	e.do("DELETE", users+"/"+bob.ID, tokAdminA, nil).must(t, 404)
}

// TestDisableUserRevokes: disabling a user ends what it holds at once — its
// grants (the sid of its tokens) are revoked and on the revocation feed —
// and the user cannot sign in.
func TestDisableUserRevokes(t *testing.T) {
	e := newEnv(t)
	users := tenantPath(e.contoso, "/users")
	var alice User
	e.do("POST", users, tokAdminA, UserCreate{UserPrincipalName: "alice", Password: alicePassword}).must(t, 201).json(t, &alice)
	g, err := e.sessions.NewGrant(t.Context(), e.contoso.ID, session.GrantSpec{UserID: alice.ID, ClientID: directory.CLIClientID,
		Scopes: []string{"openid"}, AuthTime: testNow, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	off := false
	var got User
	e.do("PATCH", users+"/alice@contoso.example", tokAdminA, UserPatch{AccountEnabled: &off}).must(t, 200).json(t, &got)
	if got.AccountEnabled {
		t.Fatal("still enabled")
	}
	if _, err := e.sessions.ActiveGrant(t.Context(), e.contoso.ID, g.ID); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("the user's grant after disable: %v, want revoked", err)
	}
	feed, err := e.sessions.Feed(t.Context(), e.contoso.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(feed, func(r session.Revocation) bool { return r.Kind == session.RevokeGrant && r.Value == g.ID }) {
		t.Errorf("the grant is not on the revocation feed: %+v", feed)
	}
	if _, err := e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", alicePassword); !errors.Is(err, directory.ErrUserDisabled) {
		t.Errorf("a disabled user signs in: %v", err)
	}
	if !strings.Contains(e.log.String(), `"kind":"admin.user.update"`) {
		t.Error("the change is not in the audit log")
	}
}

// TestLockoutShownAndLifted: lockedUntil appears while a lockout lasts, and
// setting a password lifts it.
func TestLockoutShownAndLifted(t *testing.T) {
	e := newEnv(t)
	three := 3
	e.do("PUT", tenantPath(e.contoso, "/policy"), tokAdminA, TenantPolicyUpdate{LockoutThreshold: &three}).must(t, 200)
	users := tenantPath(e.contoso, "/users")
	e.do("POST", users, tokAdminA, UserCreate{UserPrincipalName: "alice", Password: alicePassword}).must(t, 201)
	for range 3 {
		_, _ = e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", "wrong password, wrong")
	}
	var u User
	e.do("GET", users+"/alice@contoso.example", tokAdminA, nil).must(t, 200).json(t, &u)
	if want := testNow.Add(directory.DefaultLockoutDuration); u.LockedUntil == nil || !u.LockedUntil.Equal(want) {
		t.Fatalf("lockedUntil %v, want %v", u.LockedUntil, want)
	}
	var after User
	e.do("POST", users+"/alice@contoso.example/password", tokAdminA, PasswordSet{Password: alicePassword}).must(t, 200).json(t, &after)
	if after.LockedUntil != nil {
		t.Errorf("set-password left the lock: %v", after.LockedUntil)
	}
	if _, err := e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", alicePassword); err != nil {
		t.Errorf("sign-in after the lock was lifted: %v", err)
	}
}

// TestAppRoleAssignedToUser: role assignments name users by UPN or object
// id; the assignment's principalType is User.
func TestAppRoleAssignedToUser(t *testing.T) {
	e := newEnv(t)
	var api Application
	e.do("POST", tenantPath(e.contoso, "/applications"), tokAdminA, ApplicationCreate{DisplayName: "api", IdentifierURIs: []string{"api://orders"},
		AppRoles: []AppRole{{Value: "Reader"}, {Value: "Daemon", AllowedMemberTypes: []string{"Application"}}}}).must(t, 201).json(t, &api)
	e.do("POST", tenantPath(e.contoso, "/servicePrincipals"), tokAdminA, directory.ServicePrincipalSpec{AppID: api.AppID}).must(t, 201)
	var alice User
	e.do("POST", tenantPath(e.contoso, "/users"), tokAdminA, UserCreate{UserPrincipalName: "alice"}).must(t, 201).json(t, &alice)

	ras := tenantPath(e.contoso, "/roleAssignments")
	var ra directory.RoleAssignment
	e.do("POST", ras, tokAdminA, directory.AssignmentSpec{Principal: "alice@contoso.example", Resource: "api://orders", Role: "Reader"}).must(t, 201).json(t, &ra)
	if ra.PrincipalID != alice.ID || ra.PrincipalType != directory.PrincipalUser {
		t.Fatalf("assignment %+v", ra)
	}
	var listed List[directory.RoleAssignment]
	e.do("GET", ras+"?principal="+alice.ID, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 1 || listed.Value[0].ID != ra.ID {
		t.Errorf("list by user = %+v", listed.Value)
	}
	// A role for applications only cannot go to a user.
	b := e.do("POST", ras, tokAdminA, directory.AssignmentSpec{Principal: "alice@contoso.example", Resource: "api://orders", Role: "Daemon"}).must(t, 400).errorBody(t)
	if !strings.Contains(b.Message, "cannot be assigned to a user") {
		t.Errorf("message %q", b.Message)
	}
	// Deleting the user removes its assignments.
	e.do("DELETE", tenantPath(e.contoso, "/users/"+alice.ID), tokAdminA, nil).must(t, 204)
	e.do("GET", ras+"?resource=api://orders", tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 0 {
		t.Errorf("assignments of a deleted user: %+v", listed.Value)
	}
}

func TestUserBadRequests(t *testing.T) {
	e := newEnv(t)
	users := tenantPath(e.home, "/users")
	e.do("POST", users, tokSystem, UserCreate{UserPrincipalName: "alice"}).must(t, 201)
	cases := []struct {
		rule, method, path string
		body               any
		opts               []reqOpt
		status             int
		message            string
	}{
		{"UPN shape", "POST", users, UserCreate{UserPrincipalName: "a b@c"}, nil, 400, "must look like name@domain"},
		{"UPN required", "POST", users, map[string]any{}, []reqOpt{invalidRequest}, 400, "must look like name@domain"},
		{"password length (NIST SP 800-63B §5.1.1.2)", "POST", users, UserCreate{UserPrincipalName: "bob", Password: "short"}, nil, 400, "at least 12 characters"},
		{"mail shape", "POST", users, UserCreate{UserPrincipalName: "bob", Mail: "not an address"}, nil, 400, "not an address"},
		{"set-password length", "POST", users + "/alice@default/password", PasswordSet{Password: "short"}, nil, 400, "at least 12 characters"},
		{"password is all the body holds", "POST", users + "/alice@default/password", `{"password":"long enough password","hash":"x"}`, []reqOpt{invalidRequest, rawBody}, 400, `unknown field "hash"`},
		{"patch has only its fields (no password hash)", "PATCH", users + "/alice@default", `{"passwordHash":"x"}`, []reqOpt{invalidRequest, rawBody}, 400, `unknown field "passwordHash"`},
		{"UPN in a domain of the tenant (issue 13)", "POST", users, UserCreate{UserPrincipalName: "bob@fabrikam"}, nil, 400, `"fabrikam" is not a domain of this tenant (its domains: default)`},
		{"rename in a domain of the tenant", "PATCH", users + "/alice@default", UserPatch{UserPrincipalName: ptrTo("alice@elsewhere.example")}, nil, 400, `"elsewhere.example" is not a domain of this tenant`},
		{"verified mail needs mail", "POST", users, UserCreate{UserPrincipalName: "bob", MailVerified: true}, nil, 400, "mailVerified needs a mail address"},
		{"UPN taken, case-insensitively", "POST", users, UserCreate{UserPrincipalName: "ALICE@default"}, nil, 409, "already exists"},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			b := e.do(c.method, c.path, tokSystem, c.body, c.opts...).must(t, c.status).errorBody(t)
			if !strings.Contains(b.Message, c.message) {
				t.Errorf("error %+v, want message containing %q", b, c.message)
			}
		})
	}
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		var body any
		if m == "PATCH" {
			body = UserPatch{}
		}
		b := e.do(m, users+"/nobody@default", tokSystem, body).must(t, 404).errorBody(t)
		if b.Message != `user "nobody@default" does not exist in tenant default` {
			t.Errorf("%s: %q", m, b.Message)
		}
	}
	e.do("POST", users+"/nobody@default/password", tokSystem, PasswordSet{Password: alicePassword}).must(t, 404)
}
