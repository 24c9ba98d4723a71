package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tessera-id/tessera/guard"
)

// guardFor builds a fresh guard for the API, as a resource server starting
// now would.
func guardFor(t *testing.T, h *harness, audience string) *guard.Guard {
	t.Helper()
	g, err := guard.New(context.Background(), guard.Config{Authority: h.srv.URL + "/default/v2.0", Audiences: []string{audience}, HTTPClient: h.http})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func TestRestartKeepsTokensValidAndRotationKeepsOldOnes(t *testing.T) {
	dataDir, addr := t.TempDir(), freeAddr(t)
	h := startAt(t, dataDir, addr)
	a := setupApps(t, h)
	scope := "api://" + a.api + "/.default"
	before := h.clientCredentials(a.client, a.clientSecret, scope, false)
	kidBefore := headerOf(t, before)["kid"]
	cached := guardFor(t, h, "api://"+a.api) // a resource server that keeps running
	h.stop()

	h = startAt(t, dataDir, addr)
	if h.srv.Bootstrap != nil {
		t.Error("a restart on a populated data folder bootstrapped again")
	}
	if _, err := guardFor(t, h, "api://"+a.api).Validate(context.Background(), before); err != nil {
		t.Errorf("a token issued before the restart is rejected after it: %v", err)
	}
	// The client's secret still works, and tokens are signed by the same key.
	again := h.clientCredentials(a.client, a.clientSecret, scope, false)
	if headerOf(t, again)["kid"] != kidBefore {
		t.Errorf("after restart tokens carry kid %v, before %v", headerOf(t, again)["kid"], kidBefore)
	}

	adm := h.clientCredentials(mustBootstrapClient(t, h, a))
	keysBefore := jwksKids(t, h)
	out, _, err := h.cli("admin", "keys", "rotate", "--server", h.srv.URL, "--token", adm, "--ca-file", h.srv.CAFile)
	if err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	var rotated []map[string]any
	json.Unmarshal([]byte(out), &rotated)
	states := map[any]any{}
	for _, k := range rotated {
		states[k["kid"]] = k["state"]
	}
	if states[kidBefore] != "retired" {
		t.Errorf("after rotation the old key is %v, want retired (output %s)", states[kidBefore], out)
	}
	after := h.clientCredentials(a.client, a.clientSecret, scope, false)
	kidAfter := headerOf(t, after)["kid"]
	if kidAfter == kidBefore {
		t.Fatal("after keys rotate new tokens still carry the old kid")
	}
	// The new key was published before it signed: it was in JWKS already.
	if !keysBefore[kidAfter.(string)] {
		t.Errorf("the key now signing (%v) was not published before the rotation: %v", kidAfter, keysBefore)
	}
	for name, g := range map[string]*guard.Guard{"running guard": cached, "new guard": guardFor(t, h, "api://"+a.api)} {
		for _, tok := range []string{before, again, after} {
			if _, err := g.Validate(context.Background(), tok); err != nil {
				t.Errorf("%s rejects a token with kid %v after rotation: %v", name, headerOf(t, tok)["kid"], err)
			}
		}
	}
}

// mustBootstrapClient returns credentials for an admin token after a
// restart, when the bootstrap secret is no longer printed: a fresh admin
// client made through the directory, as an operator would with `tessera
// admin … --data`.
func mustBootstrapClient(t *testing.T, h *harness, a apps) (string, string, string, bool) {
	t.Helper()
	out, errOut, err := h.cli("admin", "role", "assign", "--assignee", a.client, "--resource", "api://tessera-admin", "--role", "Tessera.Admin", "--data", h.dataDir)
	if err != nil {
		t.Fatalf("role assign on the local store: %v %s", err, errOut)
	}
	_ = out
	// Another process wrote; the server's directory cache sees it at its
	// next poll (within a second), which the test drives instead of waiting.
	if err := h.srv.PollDirectory(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a.client, a.clientSecret, "api://tessera-admin/.default", false
}

func jwksKids(t *testing.T, h *harness) map[string]bool {
	t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+"/common/discovery/v2.0/keys", nil)
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	json.NewDecoder(resp.Body).Decode(&set)
	kids := map[string]bool{}
	for _, k := range set.Keys {
		kids[k.Kid] = true
	}
	return kids
}
