package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/tessera-id/tessera/internal/config"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(binPath[:len(binPath)-len("/tessera")])
	}
	os.Exit(code)
}

// Token lifetime is the resource's policy, and ES256 signing works with
// the same clients as RS256.
func TestLifetimePolicyAndES256(t *testing.T) {
	h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) { c.SigningAlg = "ES256" })
	a := setupApps(t, h)
	adm := h.adminToken()
	short := h.admin(adm, "app", "create", "--display-name", "Short-lived API", "--token-lifetime", "15m")["appId"].(string)
	h.admin(adm, "sp", "create", "--id", short)

	status, body, _ := h.postForm("/default/oauth2/v2.0/token", map[string][]string{"grant_type": {"client_credentials"},
		"client_id": {a.client}, "client_secret": {a.clientSecret}, "scope": {short + "/.default"}}, "", "")
	if status != 200 || body["expires_in"] != float64(900) {
		t.Fatalf("token for a 15-minute API: %d %v", status, body)
	}
	tok := body["access_token"].(string)
	c := claimsOf(t, tok)
	if c["exp"].(float64)-c["iat"].(float64) != 900 {
		t.Errorf("exp-iat = %v, want 900", c["exp"].(float64)-c["iat"].(float64))
	}
	if hdr := headerOf(t, tok); hdr["alg"] != "ES256" {
		t.Errorf("alg %v, want ES256", hdr["alg"])
	}
	ctx := oidc.ClientContext(context.Background(), h.http)
	p, err := oidc.NewProvider(ctx, h.srv.URL+"/"+h.tenant()+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verifier(&oidc.Config{ClientID: short, SupportedSigningAlgs: []string{"ES256"}}).Verify(ctx, tok); err != nil {
		t.Errorf("go-oidc rejects an ES256 token: %v", err)
	}
	if _, err := guardFor(t, h, short).Validate(context.Background(), tok); err != nil {
		t.Errorf("the guard rejects an ES256 token: %v", err)
	}
}
