package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// schemaAt builds a database at path with the migrations up to version
// applied, then runs extra statements on it.
func schemaAt(t *testing.T, path string, version int, extra ...string) {
	t.Helper()
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(abs, connWrite))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	qs := []string{`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	for _, m := range ms[:version] {
		qs = append(qs, m.SQL, `INSERT INTO schema_migrations (version, applied_at) VALUES (`+strconv.Itoa(m.Version)+`, 0)`)
	}
	for _, q := range append(qs, extra...) {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%.60s…: %v", q, err)
		}
	}
}

// A database from before 0006 in which two tenants register one client id
// (the hole 0006 closes) is not migrated: the error names the id and the
// tenants and says what to do, and the database stays as it was. Once
// the duplicate is gone it migrates, tenants keep their domain as their
// first tenant domain, and existing mail is unverified.
func TestMigration6RefusesDuplicateAppIDs(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tessera.db")
	const dup = "5c1f3a52-7d1b-4a8e-9c55-6a0f2b9d7e01"
	app := func(tenant, appID string) string {
		return `INSERT INTO applications (tenant_id, app_id, object_id, display_name, identifier_uris, scopes, app_roles,
			access_token_accepted_version, access_token_lifetime, redirect_uris, public_client, pre_authorized, created_at, updated_at)
			VALUES ('` + tenant + `', '` + appID + `', 'o-` + tenant + `', 'x', '[]', '[]', '[]', 2, 0, '[]', 1, '[]', 1, 1)`
	}
	schemaAt(t, path, 5,
		`INSERT INTO tenants (id, domain, domain_key, display_name, created_at) VALUES ('t1', 'default', 'default', 'A', 1)`,
		`INSERT INTO tenants (id, domain, domain_key, display_name, created_at) VALUES ('t2', 'Fabrikam', 'fabrikam', 'B', 2)`,
		app("t1", dup), app("t2", dup),
		app("t1", directory.CLIClientID), app("t2", directory.CLIClientID),
		`INSERT INTO users (tenant_id, object_id, upn, upn_key, display_name, mail, enabled, password_hash,
			failed_sign_ins, last_failure_at, locked_until, created_at, updated_at)
			VALUES ('t1', 'u1', 'alice@default', 'alice@default', 'Alice', 'alice@mail.example', 1, '', 0, 0, 0, 1, 1)`)

	_, err := Open(ctx, path)
	if err == nil {
		t.Fatal("a database with one client id in two tenants was migrated")
	}
	for _, want := range []string{"0006_tenant_names.sql", dup, "tenant default (t1)", "tenant Fabrikam (t2)",
		"tessera admin app delete --tenant Fabrikam --id " + dup, "was not changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), directory.CLIClientID+": ") {
		t.Errorf("the error lists the well-known id as a duplicate:\n%v", err)
	}
	t.Logf("the refusal reads:\n%v", err)
	version, _, err := Status(ctx, path)
	if err != nil || version != 5 {
		t.Fatalf("schema version after the refusal: %d, %v; want 5", version, err)
	}

	abs, _ := filepath.Abs(path)
	db, err := sql.Open("sqlite", dsn(abs, connWrite))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM applications WHERE tenant_id = 't2' AND app_id = ?`, dup); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openTemp(t, path)
	for domain, tenant := range map[string]string{"default": "t1", "fabrikam": "t2"} {
		got, err := s.GetTenantByDomain(ctx, domain)
		if err != nil || got.ID != tenant {
			t.Errorf("domain %s: %+v, %v", domain, got, err)
		}
	}
	u, err := s.GetUser(ctx, "t1", "u1")
	if err != nil || u.Mail != "alice@mail.example" || u.MailVerified {
		t.Errorf("user after the migration: %+v, %v", u, err)
	}
	if err := s.CreateApplication(ctx, "t2", directory.Application{AppID: dup}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("after the migration, tenant t2 registering t1's client id: %v, want a conflict", err)
	}
}
