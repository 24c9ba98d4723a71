package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestProductLoginEndToEnd: the ONE DATA how-to — POST a username and
// password as JSON, read the token from the Authorization header, call
// the product with it, and log out, which ends the sign-in everywhere.
func TestProductLoginEndToEnd(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	ctx := context.Background()
	if _, err := h.srv.Directory.SetTenantPolicy(ctx, h.tenant(), directory.TenantPolicy{ProductLoginResource: "api://studies", ProductLoginLifetime: 8 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	login := func(user, pw string) (int, map[string]any, http.Header) {
		req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/login", strings.NewReader(`{"username":"`+user+`","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "default")
		return h.do(req)
	}
	status, body, hdr := login("alice", alicePassword)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	tok, _ := body["access_token"].(string)
	if hdr.Get("Authorization") != "Bearer "+tok || body["token_type"] != "Bearer" || body["expires_in"] != float64(8*3600) || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("login answer %v %v", hdr, body)
	}
	at := claimsOf(t, tok)
	sid, _ := at["sid"].(string)
	if at["aud"] != u.api.AppID || at["oid"] != u.alice.ObjectID || at["azp"] != directory.CLIClientID || sid == "" {
		t.Errorf("product token %v", at)
	}
	if _, err := h.srv.Sessions.ActiveGrant(ctx, h.tenant(), sid); err != nil {
		t.Fatalf("the login's grant: %v", err)
	}

	wrong, wb, _ := login("alice", "not the password")
	unknown, ub, _ := login("nobody", alicePassword)
	if wrong != 401 || unknown != 401 || wb["error_description"] != ub["error_description"] {
		t.Errorf("bad credentials: %d %v / %d %v", wrong, wb, unknown, ub)
	}

	logout := func(token string) int {
		req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/logout", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		status, _, _ := h.do(req)
		return status
	}
	if s := logout(tok); s != 204 {
		t.Fatalf("logout: %d", s)
	}
	if _, err := h.srv.Sessions.ActiveGrant(ctx, h.tenant(), sid); err == nil {
		t.Error("the grant is active after logout")
	}
	if s := logout("not-a-token"); s != 401 {
		t.Errorf("logout with a bad token: %d", s)
	}
	h.assertNotLogged(alicePassword, tok)
}
