package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
)

// A database from before 0006 in which two tenants register one client id
// (the hole 0006 closes) is not migrated: the error names the id and the
// tenants and says what to do, and the schema stays at version 5. Once
// the duplicate is gone it migrates, and tenants keep their domain as
// their first tenant domain.
func TestMigration6RefusesDuplicateAppIDs(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	const dup = "5c1f3a52-7d1b-4a8e-9c55-6a0f2b9d7e01"
	app := func(tenant, appID string) string {
		return `INSERT INTO applications (tenant_id, app_id, object_id, display_name, identifier_uris, scopes, app_roles,
			access_token_accepted_version, access_token_lifetime, redirect_uris, public_client, pre_authorized, created_at, updated_at)
			VALUES ('` + tenant + `', '` + appID + `', 'o', 'x', '{}', '[]', '[]', 2, 0, '{}', true, '[]', now(), now())`
	}
	qs := []string{`CREATE TABLE schema_migrations (version integer NOT NULL PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL, applied_by text NOT NULL)`}
	for _, m := range ms[:5] {
		qs = append(qs, m.SQL)
	}
	qs = append(qs,
		`INSERT INTO schema_migrations SELECT v, 'm', now(), 'test' FROM generate_series(1, 5) v`,
		`INSERT INTO tenants (id, domain, domain_key, display_name, policy, created_at) VALUES ('t1', 'default', 'default', 'A', '{}', now())`,
		`INSERT INTO tenants (id, domain, domain_key, display_name, policy, created_at) VALUES ('t2', 'fabrikam', 'fabrikam', 'B', '{}', now() + interval '1 second')`,
		app("t1", dup), app("t2", dup), app("t1", directory.CLIClientID), app("t2", directory.CLIClientID))
	for _, q := range qs {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s…: %v", q, err)
		}
	}

	_, err = Open(ctx, url)
	if err == nil {
		t.Fatal("a database with one client id in two tenants was migrated")
	}
	for _, want := range []string{"0006_tenant_names.sql", dup, "tenant default (t1)", "tenant fabrikam (t2)",
		"tessera admin app delete --tenant fabrikam --id " + dup, "was not changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), directory.CLIClientID+": ") {
		t.Errorf("the error lists the well-known id as a duplicate:\n%v", err)
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != 5 {
		t.Fatalf("schema version after the refusal: %d, %v; want 5", version, err)
	}

	if _, err := conn.Exec(ctx, `DELETE FROM applications WHERE tenant_id = 't2' AND app_id = $1`, dup); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for domain, tenant := range map[string]string{"default": "t1", "fabrikam": "t2"} {
		got, err := s.GetTenantByDomain(ctx, domain)
		if err != nil || got.ID != tenant {
			t.Errorf("domain %s: %+v, %v", domain, got, err)
		}
	}
	if err := s.CreateApplication(ctx, "t2", directory.Application{AppID: dup}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("after the migration, tenant t2 registering t1's client id: %v, want a conflict", err)
	}
}
