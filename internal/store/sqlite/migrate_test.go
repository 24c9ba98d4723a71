package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// The literal the queries use for "not yet" is the encoding of the zero
// time.
func TestUnsetIsTheZeroTime(t *testing.T) {
	if got := strconv.FormatInt(encTime(time.Time{}), 10); got != unset {
		t.Fatalf("encTime(time.Time{}) = %s, the queries use %s", got, unset)
	}
}

// A database made by a binary that knew migration 0001 only is brought up
// to date, its rows kept: a tenant then has the default (zero) policy.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tessera.db")
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(abs, connWrite))
	if err != nil {
		t.Fatal(err)
	}
	first, err := fs.ReadFile(migrationFiles, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		string(first),
		`INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0)`,
		`INSERT INTO tenants (id, domain, domain_key, display_name, created_at) VALUES ('t1', 'd.example', 'd.example', 'D', 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTemp(t, path)
	got, err := s.GetTenant(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	want := directory.Tenant{ID: "t1", Domain: "d.example", DisplayName: "D", CreatedAt: decTime(1)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if err := s.CreateUser(ctx, "t1", directory.User{ObjectID: "u1", UserPrincipalName: "u@d.example"}); err != nil {
		t.Fatal(err)
	}
}
