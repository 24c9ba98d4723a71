package cli

import (
	"testing"

	"github.com/tessera-id/tessera/internal/account"
)

// `tessera admin --server` acts as the account in use, as az does, not as
// whichever profile of the server was stored first; a tenant named on the
// command prefers a profile of that tenant; and the CA file remembered at
// login comes with the profile.
func TestAdminProfileIsTheAccountInUse(t *testing.T) {
	store, err := account.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const server = "https://127.0.0.1:8443"
	sp := account.Profile{Type: account.ServicePrincipal, Authority: server, Tenant: "default", TenantID: "t-home",
		ClientID: "bootstrap", ClientSecret: "s", CAFile: "/data/ca.pem"}
	other := account.Profile{Type: account.ServicePrincipal, Authority: server, Tenant: "contoso.example", TenantID: "t-contoso",
		ClientID: "contoso-admin", ClientSecret: "s", CAFile: "/data/ca.pem"}
	person := account.Profile{Type: account.User, Authority: server, Tenant: "default", TenantID: "t-home",
		ClientID: "cli", ObjectID: "alice", HomeTenantID: "t-home", Username: "alice@home.example", CAFile: "/data/ca.pem"}
	elsewhere := account.Profile{Type: account.ServicePrincipal, Authority: "https://id.example.com", Tenant: "default",
		TenantID: "t-x", ClientID: "x", ClientSecret: "s"}
	for _, p := range []account.Profile{sp, other, person, elsewhere} { // the last saved is the account in use
		if err := store.SaveProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		server, tenant, want string
	}{
		{server, adminHomeTenant, ""}, // elsewhere is in use: none of this server's is current
		{server, "contoso.example", "contoso-admin"},
		{"https://id.example.com/", adminHomeTenant, "x"},
		{"https://other.example", adminHomeTenant, "-"},
	} {
		p, err := adminProfile(store, c.server, c.tenant)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.want == "-" && p != nil:
			t.Errorf("%s: chose %s for a server nobody logged in to", c.server, p.ClientID)
		case c.want != "-" && c.want != "" && (p == nil || p.ClientID != c.want):
			t.Errorf("%s %s: chose %+v, want %s", c.server, c.tenant, p, c.want)
		}
	}
	// Now the person is the account in use: every home-tenant command acts
	// as them, not as the service principal stored first.
	if err := store.SaveProfile(person); err != nil {
		t.Fatal(err)
	}
	p, err := adminProfile(store, server, adminHomeTenant)
	if err != nil || p == nil || p.Type != account.User {
		t.Fatalf("with the person in use, admin acts as %+v (%v)", p, err)
	}
	if p.CAFile != "/data/ca.pem" {
		t.Errorf("CA file %q", p.CAFile)
	}
	// A command for another tenant takes that tenant's profile.
	if p, _ := adminProfile(store, server, "t-contoso"); p == nil || p.ClientID != "contoso-admin" {
		t.Errorf("for tenant t-contoso: %+v", p)
	}
}
