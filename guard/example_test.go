package guard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// Protect an API: readers are applications with the Reader role or users
// who delegated user_impersonation.
func Example() {
	// A stand-in for tessera; in production Authority is its URL, e.g.
	// https://127.0.0.1:8443/contoso.example/v2.0.
	idp := guardtest.Start()
	defer idp.Close()

	const appID = "a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f"
	g, err := guard.New(context.Background(), guard.Config{
		Authority:  idp.URL(),
		Audiences:  []string{"api://" + appID},
		HTTPClient: idp.Client(), // trusts the stand-in's certificate
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close() // stops polling the revocation feed
	readers := g.Middleware(guard.AnyOf(guard.RequireRoles("Reader"), guard.RequireScopes("user_impersonation")))
	api := httptest.NewServer(readers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s, scopes %v", p.ObjectID, p.Scopes)
	})))
	defer api.Close()

	get := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/studies", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		fmt.Println(strings.TrimSpace(res.Status[:3] + " " + res.Header.Get("WWW-Authenticate")))
		fmt.Println(strings.TrimSpace(string(body)))
	}

	token, _ := idp.Sign(idp.V2Claims(appID))
	get(token)
	get("")
	// Output:
	// 200
	// hello 0e9c3cbc-0c14-4c66-8c6d-8f2f1a1c2b3d, scopes [user_impersonation]
	// 401 Bearer realm="tessera"
	// {"error_description":"a bearer token is required"}
}
