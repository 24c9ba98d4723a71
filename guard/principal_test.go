package guard_test

import (
	"context"
	"testing"

	"github.com/tessera-id/tessera/guard/guardtest"
)

// TestIsApplication: an application acting for itself is told from a user
// by idtyp when the token has it, and otherwise by the token's own claims
// as Microsoft documents for Entra (scp or sid: a user; oid equal to sub:
// an application). A missing scp alone never makes an application.
func TestIsApplication(t *testing.T) {
	idp, g, _ := setup(t, nil)
	edit := func(c guardtest.Claims, f func(guardtest.Claims)) guardtest.Claims {
		c = c.Clone()
		f(c)
		return c
	}
	user := idp.V2Claims(resourceID)
	app := idp.AppClaims(resourceID, "Reader")
	// tessera's product-login token: the user's oid as sub, roles, no scp.
	login := edit(user, func(c guardtest.Claims) {
		delete(c, "scp")
		c["sub"], c["roles"] = c["oid"], []string{"Reader"}
	})
	for _, tc := range []struct {
		rule   string
		claims guardtest.Claims
		want   bool
	}{
		{"idtyp app: tessera's client-credentials token", app, true},
		{"idtyp user: tessera's delegated token", user, false},
		{"idtyp user without scp: tessera's product-login token", login, false},
		{"idtyp user decides over oid = sub", edit(login, func(c guardtest.Claims) { delete(c, "sid") }), false},
		{"no idtyp, no scp, sid: a product-login token issued before idtyp", edit(login, func(c guardtest.Claims) { delete(c, "idtyp") }), false},
		{"no idtyp, scp: Entra's delegated token", edit(user, func(c guardtest.Claims) { delete(c, "idtyp") }), false},
		{"no idtyp, no scp, no sid, oid = sub: Entra's v2 app-only token", edit(app, func(c guardtest.Claims) { delete(c, "idtyp") }), true},
		{"no idtyp, no scp, no sid, oid = sub: Entra's v1 app-only token", edit(app, func(c guardtest.Claims) {
			delete(c, "idtyp")
			delete(c, "azp")
			c["appid"], c["ver"], c["iss"] = guardtest.ClientID, "1.0", idp.IssuerV1()
		}), true},
		{"no idtyp, no scp, no sid, pairwise sub: Entra's user token with roles only", edit(user, func(c guardtest.Claims) {
			delete(c, "idtyp")
			delete(c, "scp")
			delete(c, "sid")
			c["roles"] = []string{"Reader"}
		}), false},
		{"no idtyp, no scp, no oid: nothing says application", edit(app, func(c guardtest.Claims) {
			delete(c, "idtyp")
			delete(c, "oid")
		}), false},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			p, err := g.Validate(context.Background(), idp.Mint(t, tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.IsApplication(); got != tc.want {
				t.Errorf("IsApplication() = %v, want %v", got, tc.want)
			}
		})
	}
}
