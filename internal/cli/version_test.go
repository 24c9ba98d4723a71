package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	stamped := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-07T20:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		override string
		want     VersionInfo
		line     string
	}{
		{"no build information", nil, "dev", VersionInfo{Version: "devel"}, "devel"},
		{"a checkout without VCS stamping", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "dev",
			VersionInfo{Version: "devel", Go: "go1.26.8"}, "devel go1.26.8"},
		{"a checkout, stamped, with uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: stamped}, "dev",
			VersionInfo{Version: "devel", Go: "go1.26.8", Revision: "0123456789abcdef0123456789abcdef01234567", RevisionTime: "2026-12-07T20:00:00Z", Modified: true},
			"devel (0123456789ab, modified) go1.26.8"},
		{"go install …@v1.2.0: the module version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, "dev",
			VersionInfo{Version: "v1.2.0", Go: "go1.26.8"}, "v1.2.0 go1.26.8"},
		{"a release named with -ldflags wins", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, "v1.2.1",
			VersionInfo{Version: "v1.2.1", Go: "go1.26.8"}, "v1.2.1 go1.26.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := describeBuild(tc.bi, tc.override)
			if got != tc.want {
				t.Fatalf("describeBuild = %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.line {
				t.Fatalf("String() = %q, want %q", got.String(), tc.line)
			}
		})
	}
}

// TestVersionCommand: `tessera version` prints the build as JSON (az
// version's shape: the product's name is the key of its version), takes
// --query like every other command, and --version prints one line.
func TestVersionCommand(t *testing.T) {
	run := func(args ...string) string {
		t.Helper()
		root := NewRoot(Deps{})
		var out bytes.Buffer
		root.SetArgs(args)
		root.SetOut(&out)
		root.SetErr(&out)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(run("version")), &v); err != nil {
		t.Fatal(err)
	}
	want := buildVersion()
	if v["tessera"] != want.Version || v["go"] != want.Go || want.Go == "" {
		t.Fatalf("version printed %v, want %+v", v, want)
	}
	if got := run("version", "--query", "go", "-o", "tsv"); got != want.Go+"\n" {
		t.Fatalf("--query go -o tsv = %q", got)
	}
	if got := run("--version"); got != "tessera "+want.String()+"\n" {
		t.Fatalf("--version = %q, want %q", got, "tessera "+want.String()+"\n")
	}
	if !strings.Contains(run("--help"), "version") {
		t.Fatal("--help does not list the version command")
	}
}
