package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
)

func runMigrate(t *testing.T, want int, args ...string) migrationReport {
	t.Helper()
	root := NewRoot(Deps{})
	var out, errb bytes.Buffer
	root.SetArgs(append([]string{"migrate"}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	if got := exitCodeOf(err); got != want {
		t.Fatalf("tessera migrate %v: exit %d (%v), want %d\n%s", args, got, err, want, errb.String())
	}
	var rep migrationReport
	if want == 0 {
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("output: %v\n%s", err, out.String())
		}
	}
	return rep
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	return ExitCode(err)
}

// checkMigrated asserts a status report says every known migration is
// applied.
func checkMigrated(t *testing.T, rep migrationReport, engine string) {
	t.Helper()
	if rep.Engine != engine || rep.SchemaVersion != rep.LatestVersion || rep.LatestVersion == 0 {
		t.Fatalf("status: %+v", rep)
	}
	list, _ := rep.Migrations.([]any)
	if len(list) != rep.LatestVersion {
		t.Fatalf("status lists %d migrations, want %d", len(list), rep.LatestVersion)
	}
	for _, m := range list {
		if m.(map[string]any)["applied"] != true {
			t.Errorf("not applied: %v", m)
		}
	}
}

func TestMigrateSQLite(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	// status changes nothing: no database, no file made.
	runMigrate(t, ExitNotFound, "status", "--data", data)
	rep := runMigrate(t, 0, "up", "--data", data)
	if rep.Engine != "sqlite" || len(rep.Applied) != rep.LatestVersion || rep.SchemaVersion != rep.LatestVersion {
		t.Fatalf("first up: %+v", rep)
	}
	checkMigrated(t, runMigrate(t, 0, "status", "--data", data), "sqlite")
	if rep := runMigrate(t, 0, "up", "--data", data); len(rep.Applied) != 0 {
		t.Errorf("second up applied %v", rep.Applied)
	}
	// TESSERA_DB names the same file.
	t.Setenv("TESSERA_DB", filepath.Join(data, "tessera.db"))
	checkMigrated(t, runMigrate(t, 0, "status"), "sqlite")
}

// Three `tessera migrate up` at once on an empty PostgreSQL schema: the
// advisory lock lets exactly one apply the migrations; the others find the
// schema current.
func TestMigratePostgresRunsOnce(t *testing.T) {
	dsn := pgtest.Schema(t)
	rep := runMigrate(t, 0, "status", "--db", dsn)
	if rep.Engine != "postgres" || rep.SchemaVersion != 0 {
		t.Fatalf("status of an empty schema: %+v", rep)
	}
	var wg sync.WaitGroup
	reports := make([]migrationReport, 3)
	for i := range reports {
		wg.Go(func() { reports[i] = runMigrate(t, 0, "up", "--db", dsn) })
	}
	wg.Wait()
	applied := 0
	for _, r := range reports {
		if len(r.Applied) > 0 {
			applied++
			if len(r.Applied) != r.LatestVersion {
				t.Errorf("one up applied %v, want all %d", r.Applied, r.LatestVersion)
			}
		}
	}
	if applied != 1 {
		t.Fatalf("%d of 3 concurrent runs applied migrations, want exactly 1: %+v", applied, reports)
	}
	checkMigrated(t, runMigrate(t, 0, "status", "--db", dsn), "postgres")
}
