package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/cli"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
)

// issuedState is what a deployment has handed out before a backup or a
// move, for checking after it that all of it still works.
type issuedState struct {
	a       apps
	u       userApps
	access  string // a client-credentials token
	kid     any
	refresh string // a person's live refresh token
}

func issueSome(t *testing.T, h *harness) issuedState {
	t.Helper()
	s := issuedState{a: setupApps(t, h), u: setupUserApps(t, h)}
	s.access = h.clientCredentials(s.a.client, s.a.clientSecret, "api://"+s.a.api+"/.default", false)
	s.kid = headerOf(t, s.access)["kid"]
	s.refresh = s.u.signIn(t, h, "before").RefreshToken
	if s.refresh == "" {
		t.Fatal("no refresh token")
	}
	return s
}

// stillWorks checks, on a server brought back from a backup or a copy,
// that every token and credential issued before works as it did.
func (s issuedState) stillWorks(t *testing.T, h *harness) {
	t.Helper()
	if h.srv.Bootstrap != nil {
		t.Error("the restored server bootstrapped as if it were new")
	}
	if _, err := guardFor(t, h, "api://"+s.a.api).Validate(context.Background(), s.access); err != nil {
		t.Errorf("a token issued before is rejected after: %v", err)
	}
	again := h.clientCredentials(s.a.client, s.a.clientSecret, "api://"+s.a.api+"/.default", false)
	if kid := headerOf(t, again)["kid"]; kid != s.kid {
		t.Errorf("tokens are signed with key %v after, %v before", kid, s.kid)
	}
	status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", s.u.refreshForm(s.refresh), "", "")
	if status != 200 || body["refresh_token"] == nil {
		t.Errorf("refreshing a refresh token issued before: %d %v", status, body)
	}
	// The person, the password and the consent came back too.
	if tok := s.u.signIn(t, h, "after"); tok.AccessToken == "" {
		t.Error("no sign-in after")
	}
}

func TestBackupWipeRestoreKeepsEverythingWorking(t *testing.T) {
	dataDir, addr := t.TempDir(), freeAddr(t)
	h := startAt(t, dataDir, addr)
	issued := issueSome(t, h)

	// While the server runs.
	archive := filepath.Join(t.TempDir(), "tessera.tbk")
	out, errOut, err := h.cli("backup", "--to", archive, "--data", dataDir)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "master key is not in the backup") || !strings.Contains(out, `"totalRows"`) {
		t.Errorf("backup said %q / %q", out, errOut)
	}
	if fi, err := os.Stat(archive); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", fi, err)
	}
	h.stop()

	// Wipe the data folder; the master key was kept apart.
	master, err := os.ReadFile(filepath.Join(dataDir, secrets.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.cli("restore", "--from", archive, "--data", dataDir); err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("restore without the master key: %v, want a usage error", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "tessera.db")); err == nil {
		t.Fatal("a restore refused for want of a key left a database behind")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, secrets.MasterKeyFile), master, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := h.cli("restore", "--from", archive, "--data", dataDir); err != nil {
		t.Fatalf("restore: %v\n%s", err, errOut)
	}
	// Once restored, the folder is not empty: a second restore is refused.
	if _, _, err := h.cli("restore", "--from", archive, "--data", dataDir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a restore over a restored database: %v", err)
	}

	issued.stillWorks(t, startAt(t, dataDir, addr))
}

func TestRestoreUnderAnotherMasterKeyChangesNothing(t *testing.T) {
	h := start(t)
	archive := filepath.Join(t.TempDir(), "tessera.tbk")
	if _, errOut, err := h.cli("backup", "--to", archive, "--data", h.dataDir); err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut)
	}
	other := t.TempDir()
	t.Setenv("TESSERA_MASTER_KEY", strings.Repeat("01", secrets.MasterKeySize))
	_, _, err := h.cli("restore", "--from", archive, "--data", other)
	if err == nil || !strings.Contains(err.Error(), "another master key") {
		t.Fatalf("restore under another master key: %v", err)
	}
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Errorf("a refused restore left %v in the data folder", entries)
	}
}

func TestMigrateCopySQLiteToPostgreSQLKeepsEverythingWorking(t *testing.T) {
	dsn := pgtest.Schema(t)
	dataDir, addr := t.TempDir(), freeAddr(t)
	h := startAt(t, dataDir, addr)
	issued := issueSome(t, h)
	h.stop()

	out, errOut, err := h.cli("migrate", "copy", "--from", dataDir, "--to", dsn)
	if err != nil {
		t.Fatalf("migrate copy: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "master.key") {
		t.Errorf("the copy does not say which master key to serve with: %s", out)
	}
	// Into a database that now holds a deployment: refused, all of it.
	if _, _, err := h.cli("migrate", "copy", "--from", dataDir, "--to", dsn); err == nil || cli.ExitCode(err) != 2 {
		t.Errorf("a copy into a non-empty database: %v, want a usage error", err)
	}

	master, err := os.ReadFile(filepath.Join(dataDir, secrets.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pg := startWith(t, t.TempDir(), addr, func(c *config.Config) {
		c.DB, c.MasterKey = dsn, strings.TrimSpace(string(master))
	})
	issued.stillWorks(t, pg)
}
