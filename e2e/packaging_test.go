package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitIsHardenedAndVerifies: packaging/systemd/tessera.service
// is what systemd accepts (systemd-analyze verify prints nothing), keeps
// the hardening an operator relies on, and systemd's own exposure score
// rates it at most 2.0 of 10 ("OK").
func TestSystemdUnitIsHardenedAndVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: systemd)")
	}
	unit, err := os.ReadFile("../packaging/systemd/tessera.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/usr/local/bin/tessera serve",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"DynamicUser=yes",
		"StateDirectory=tessera",
		"StateDirectoryMode=0700",
		"ProtectSystem=strict",
		"NoNewPrivileges=yes",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE",
		"Environment=TESSERA_DATA=/var/lib/tessera",
	} {
		if !strings.Contains(string(unit), "\n"+want+"\n") {
			t.Errorf("the unit lacks %q", want)
		}
	}
	// verify wants the binary it starts to exist: the one just built.
	dir := t.TempDir()
	path := filepath.Join(dir, "tessera.service")
	body := strings.Replace(string(unit), "ExecStart=/usr/local/bin/tessera ", "ExecStart="+binary(t)+" ", 1)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", path).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze security rates the unit above 2.0: %v\n%s", err, out)
	}
}
