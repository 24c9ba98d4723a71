package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The first start's credentials file is 0600, holds what a script needs,
// and is never overwritten: a first start on a new database that finds an
// older one writes beside it. A start that finds it warns, without the
// secret.
func TestBootstrapFileIsPrivateAndNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	first := &Bootstrap{TenantID: "t1", TenantDomain: "default", ClientID: "c1", ClientSecret: "tss_one", SecretExpiry: time.Unix(1e9, 0)}
	path, err := first.writeFile(dir, "https://id.example")
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, BootstrapFile) {
		t.Errorf("written to %s, want %s", path, filepath.Join(dir, BootstrapFile))
	}
	var got bootstrapFileJSON
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.ClientID != "c1" || got.ClientSecret != "tss_one" || got.TokenURL != "https://id.example/t1/oauth2/v2.0/token" ||
		got.Scope != "api://tessera-admin/.default" || !got.SecretExpiresAt.Equal(time.Unix(1e9, 0)) {
		t.Errorf("file holds %+v", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	second := &Bootstrap{TenantID: "t2", ClientID: "c2", ClientSecret: "tss_two"}
	path2, err := second.writeFile(dir, "https://id.example")
	if err != nil {
		t.Fatal(err)
	}
	if path2 != filepath.Join(dir, "bootstrap-admin-t2.json") {
		t.Errorf("second first start wrote %s", path2)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, raw) {
		t.Error("a second first start overwrote the first's file")
	}

	var logs bytes.Buffer
	warnLeftBootstrapFile(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), path) || strings.Contains(logs.String(), "tss_") {
		t.Errorf("warning about the file left: %q", logs.String())
	}
}
