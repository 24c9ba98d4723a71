package adminapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

func ptrTo[T any](v T) *T { return &v }

// Only a home tenant administrator chooses an appId (issue 13: a tenant
// admin registered another tenant's public client id); a tenant admin
// who tries gets 403 and nothing is created; ids are unique across
// tenants, and the well-known ids are nobody's to choose.
func TestChoosingAnAppID(t *testing.T) {
	e := newEnv(t)
	const id = "7d1e5a40-2b0c-4c66-9d1e-3f6a1b2c3d4e"
	apps := tenantPath(e.contoso, "/applications")
	b := e.do("POST", apps, tokAdminA, ApplicationCreate{AppID: id, DisplayName: "squat", PublicClient: true}).must(t, http.StatusForbidden).errorBody(t)
	if !strings.Contains(b.Message, "only an administrator of the home tenant may choose an appId") {
		t.Errorf("refusal %+v", b)
	}
	if _, err := e.dir.GetApplication(t.Context(), e.contoso.ID, id); err == nil {
		t.Error("the refused application was created")
	}
	// Without an appId, the tenant admin gets a new one.
	var made Application
	e.do("POST", apps, tokAdminA, ApplicationCreate{DisplayName: "mine"}).must(t, 201).json(t, &made)
	if made.AppID == "" || made.AppID == id {
		t.Errorf("assigned appId %q", made.AppID)
	}

	// The operator may choose one, once across tenants.
	e.do("POST", tenantPath(e.home, "/applications"), tokSystem, ApplicationCreate{AppID: id, DisplayName: "chosen"}).must(t, 201)
	b = e.do("POST", apps, tokSystem, ApplicationCreate{AppID: strings.ToUpper(id), DisplayName: "again"}).must(t, http.StatusConflict).errorBody(t)
	if !strings.Contains(b.Message, "unique across tenants") {
		t.Errorf("conflict %+v", b)
	}
	e.do("POST", apps, tokSystem, ApplicationCreate{AppID: made.AppID, DisplayName: "another tenant's"}).must(t, http.StatusConflict).errorBody(t)
	for _, wk := range []string{directory.CLIClientID, directory.ManagementAppID} {
		b = e.do("POST", apps, tokSystem, ApplicationCreate{AppID: wk, DisplayName: "not the CLI"}).must(t, http.StatusBadRequest).errorBody(t)
		if !strings.Contains(b.Message, "built-in application") {
			t.Errorf("well-known %s: %+v", wk, b)
		}
	}
}

// Domains: any administrator of the tenant lists them; only a home tenant
// administrator adds or removes one; a domain is one tenant's.
func TestTenantDomains(t *testing.T) {
	e := newEnv(t)
	domains := tenantPath(e.contoso, "/domains")
	var l List[TenantDomain]
	e.do("GET", domains, tokAdminA, nil).must(t, 200).json(t, &l)
	if len(l.Value) != 1 || l.Value[0].Domain != "contoso.example" || !l.Value[0].Primary {
		t.Fatalf("domains %+v", l.Value)
	}
	e.do("POST", domains, tokAdminA, TenantDomainCreate{Domain: "contoso.com"}).must(t, http.StatusForbidden)
	e.do("GET", tenantPath(e.home, "/domains"), tokAdminA, nil).must(t, http.StatusForbidden)
	var d TenantDomain
	e.do("POST", domains, tokSystem, TenantDomainCreate{Domain: "Contoso.COM"}).must(t, 201).json(t, &d)
	if d.Domain != "contoso.com" || d.Primary {
		t.Errorf("added %+v", d)
	}
	e.do("POST", tenantPath(e.home, "/domains"), tokSystem, TenantDomainCreate{Domain: "contoso.com"}).must(t, http.StatusConflict)
	e.do("POST", tenantPath(e.home, "/domains"), tokSystem, TenantDomainCreate{Domain: "contoso.example"}).must(t, http.StatusConflict)
	e.do("POST", domains, tokSystem, TenantDomainCreate{Domain: "organizations"}).must(t, http.StatusBadRequest)

	// The tenant's admin may now name users in it; the home tenant not.
	e.do("POST", tenantPath(e.contoso, "/users"), tokAdminA, UserCreate{UserPrincipalName: "bob@contoso.com"}).must(t, 201)
	e.do("POST", tenantPath(e.home, "/users"), tokSystem, UserCreate{UserPrincipalName: "eve@contoso.com"}).must(t, http.StatusBadRequest)

	e.do("DELETE", domains+"/contoso.com", tokAdminA, nil).must(t, http.StatusForbidden)
	if b := e.do("DELETE", domains+"/contoso.com", tokSystem, nil).must(t, http.StatusBadRequest).errorBody(t); !strings.Contains(b.Message, "bob@contoso.com") {
		t.Errorf("removing a domain in use: %+v", b)
	}
	e.do("DELETE", domains+"/contoso.example", tokSystem, nil).must(t, http.StatusBadRequest)
	e.do("DELETE", domains+"/elsewhere.example", tokSystem, nil).must(t, http.StatusNotFound)
	var u User
	e.do("PATCH", tenantPath(e.contoso, "/users/bob@contoso.com"), tokAdminA, UserPatch{UserPrincipalName: ptrTo("bob")}).must(t, 200).json(t, &u)
	if u.UserPrincipalName != "bob@contoso.example" {
		t.Errorf("renamed %+v", u)
	}
	e.do("DELETE", domains+"/contoso.com", tokSystem, nil).must(t, http.StatusNoContent)
	e.do("GET", domains, tokAdminA, nil).must(t, 200).json(t, &l)
	if len(l.Value) != 1 {
		t.Errorf("domains after the removal %+v", l.Value)
	}
}

// Mail is verified by the administrator, and a new address is not.
func TestUserMailVerification(t *testing.T) {
	e := newEnv(t)
	users := tenantPath(e.contoso, "/users")
	var u User
	e.do("POST", users, tokAdminA, UserCreate{UserPrincipalName: "alice", Mail: "alice@mail.example", MailVerified: true}).must(t, 201).json(t, &u)
	if !u.MailVerified {
		t.Fatalf("created %+v", u)
	}
	e.do("PATCH", users+"/alice@contoso.example", tokAdminA, UserPatch{Mail: ptrTo("alice@other.example"), DisplayName: ptrTo("Alice L.")}).must(t, 200).json(t, &u)
	if u.MailVerified || u.Mail != "alice@other.example" || u.DisplayName != "Alice L." {
		t.Errorf("after a new mail %+v", u)
	}
	e.do("PATCH", users+"/alice@contoso.example", tokAdminA, UserPatch{MailVerified: ptrTo(true)}).must(t, 200).json(t, &u)
	if !u.MailVerified {
		t.Errorf("verified %+v", u)
	}
}
