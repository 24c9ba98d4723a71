package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
	"github.com/tessera-id/tessera/internal/store/storetest"
	"github.com/tessera-id/tessera/internal/token"
)

func openTemp(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "tessera.db"))
	})
}

// What was committed is there after Close and Open, including through a
// path that needs escaping in a URI.
func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "a dir?#%", "tessera.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	tn := directory.Tenant{ID: "t1", Domain: "d.example", CreatedAt: time.UnixMicro(1).UTC()}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeOnce(ctx, "t1", "jti", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTemp(t, path)
	got, err := s.GetTenant(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tn) {
		t.Fatalf("got %+v, want %+v", got, tn)
	}
	if err := s.ConsumeOnce(ctx, "t1", "jti", time.Now().Add(time.Hour)); !errors.Is(err, directory.ErrReplay) {
		t.Fatalf("a value consumed before reopening: got %v, want ErrReplay", err)
	}
}

// Every connection runs with the durability and integrity settings, and a
// new file gets every migration, each recorded once.
func TestOpenSettingsAndMigrations(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, filepath.Join(t.TempDir(), "tessera.db"))
	for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"synchronous":  "2", // FULL
			"foreign_keys": "1",
			"busy_timeout": "10000",
		} {
			var got string
			if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
			}
		}
	}
	// Readers cannot write.
	if _, err := s.r.ExecContext(ctx, `DELETE FROM tenants`); err == nil {
		t.Error("a reader connection could write")
	}

	var versions []int
	rows, err := s.r.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if len(versions) != latestVersion() || versions[len(versions)-1] != latestVersion() {
		t.Fatalf("schema_migrations holds %v, want 1…%d", versions, latestVersion())
	}
}

// Opening an up-to-date file applies nothing twice.
func TestReopenDoesNotMigrateAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTemp(t, path)
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != latestVersion() {
		t.Fatalf("%d migrations recorded, want %d", n, latestVersion())
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	future := latestVersion() + 1
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, future); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("schema version %d is newer", future)) {
		t.Fatalf("unclear error: %v", err)
	}
}

func TestOpenNeedsAFile(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestLoadMigrationsRejectsGaps(t *testing.T) {
	if _, err := loadMigrations(migrationFiles); err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
}

// An expired record that the bounded purge did not reach is overwritten in
// place: the upsert path, with the store's clock set.
func TestConsumeOnceOverwritesExpiredRecord(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, filepath.Join(t.TempDir(), "tessera.db"))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	exp := now.Add(time.Minute)
	// More live records than one purge takes, and ours among them.
	for i := range stored.ConsumePurgeBatch + 10 {
		if err := s.ConsumeOnce(ctx, "t", fmt.Sprint("k", i), exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ConsumeOnce(ctx, "t", "k0", exp.Add(time.Hour)); !errors.Is(err, directory.ErrReplay) {
		t.Fatalf("live record: got %v, want ErrReplay", err)
	}
	// At exactly expiresAt the record has expired.
	now = exp
	last := fmt.Sprint("k", stored.ConsumePurgeBatch+9)
	if err := s.ConsumeOnce(ctx, "t", last, exp.Add(time.Hour)); err != nil {
		t.Fatalf("expired record not overwritten: %v", err)
	}
	if err := s.ConsumeOnce(ctx, "t", last, exp.Add(time.Hour)); !errors.Is(err, directory.ErrReplay) {
		t.Fatalf("overwritten record: got %v, want ErrReplay", err)
	}
	var left int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM consumed_values`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	// One purge of stored.ConsumePurgeBatch rows ran at the new time; the others are live.
	if want := 10; left != want {
		t.Fatalf("%d records left, want %d", left, want)
	}
}

// The schema refuses a second active key even if a caller tries.
func TestOneActiveKey(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "tessera.db"))
	_, err := s.InitSigningKeys(t.Context(), []token.KeyRecord{
		{ID: "a", Alg: "ES256", State: token.KeyActive},
		{ID: "b", Alg: "ES256", State: token.KeyActive},
	})
	if !errors.Is(err, directory.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	keys, err := s.ListSigningKeys(t.Context())
	if err != nil || len(keys) != 0 {
		t.Fatalf("after a refused init: %d keys, %v", len(keys), err)
	}
}

// Cached read statements are reset after each use: none of them keeps a
// read transaction open, which would stop checkpoints and let the WAL grow
// without bound.
func TestReadsDoNotPinTheWAL(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, filepath.Join(t.TempDir(), "tessera.db"))
	if err := s.CreateTenant(ctx, directory.Tenant{ID: "t", Domain: "t.example"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.GetTenant(ctx, "t"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTenant(ctx, "missing"); !errors.Is(err, directory.ErrNotFound) {
			t.Fatal(err)
		}
		if _, err := s.ListTenants(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var busy, logPages, checkpointed int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &checkpointed); err != nil {
		t.Fatal(err)
	}
	if busy != 0 {
		t.Fatal("a checkpoint was blocked by an open read")
	}
}

// store.Tables describes every table the migrations make, column for
// column: a column added by a migration and not described there would be
// left out of every backup.
func TestTablesDescribeTheSchema(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "tessera.db"))
	rows, err := s.r.QueryContext(t.Context(), `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT IN ('schema_migrations', 'sqlite_sequence', 'directory_version')
		ORDER BY m.name, p.cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string][]string{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		got[table] = append(got[table], column)
	}
	storetest.CheckTables(t, got)
}
