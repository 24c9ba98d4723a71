package oauth_test

import (
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// OIDC Core §5.4: the email scope asks for email; tessera sends only an
// address an administrator verified (the nOAuth class: relying parties
// take email for the user's, and some match accounts by it).
func TestEmailOnlyWhenVerified(t *testing.T) {
	f := newFixture(t)
	scope := "openid email api://studies/read"
	if id := claims(t, f.token(f.ropc("alice", password, scope)).str("id_token")); id["email"] != "alice@example.com" {
		t.Fatalf("verified mail: email %v", id["email"])
	}
	if _, err := f.dir.UpdateUser(f.ctx, f.tenant.ID, "alice", directory.UserPatch{MailVerified: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	id := claims(t, f.token(f.ropc("alice", password, scope)).str("id_token"))
	if _, ok := id["email"]; ok || id["preferred_username"] != "alice@contoso" {
		t.Errorf("unverified mail: id token %v", id)
	}
}

// A user whose name is not in a domain of its tenant (a user from before
// names were bound) gets no token naming it: not at sign-in, and not by
// a refresh token issued before its tenant lost the domain.
func TestNoTokenCarriesAnUnboundName(t *testing.T) {
	f := newFixture(t)
	ctx, tid := f.ctx, f.tenant.ID
	if _, err := f.dir.AddTenantDomain(ctx, tid, "contoso.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dir.UpdateUser(ctx, tid, "alice", directory.UserPatch{UserPrincipalName: ptr("alice@contoso.example")}); err != nil {
		t.Fatal(err)
	}
	r, _ := f.tokensFor("openid offline_access api://studies/read")
	rt := r.str("refresh_token")
	if r.status != 200 || claims(t, r.str("access_token"))["preferred_username"] != "alice@contoso.example" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	// What a database from before the rule holds: the domain is no
	// longer the tenant's, the user still named in it.
	if err := f.store.DeleteTenantDomain(ctx, tid, "contoso.example"); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.refresh(f.public.AppID, rt, nil), 400, "invalid_grant", 50057)
	wantError(t, f.token(f.ropc("alice@contoso.example", password, "openid")), 400, "invalid_grant", 50057)
	// Renamed into a domain of the tenant, the same grant goes on.
	if _, err := f.dir.UpdateUser(ctx, tid, "alice@contoso.example", directory.UserPatch{UserPrincipalName: ptr("alice")}); err != nil {
		t.Fatal(err)
	}
	if r := f.refresh(f.public.AppID, rt, nil); r.status != 200 || claims(t, r.str("access_token"))["preferred_username"] != "alice@contoso" {
		t.Errorf("after the rename: %d %s", r.status, r.raw)
	}
}

func ptr[T any](v T) *T { return &v }
