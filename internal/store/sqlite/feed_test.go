package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// Migration 0008 rebuilds the feed's table (SQLite cannot change a CHECK in
// place). A follower's cursor may be past every entry still stored (the
// newest ones purged), so the rebuilt table must go on numbering after the
// highest number ever given, not after the highest one left: a reused
// number would be skipped by that follower, and the revocation it carries
// never applied.
func TestMigrationKeepsTheFeedAndItsNumbering(t *testing.T) {
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
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for _, m := range ms[:5] {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, m.Version)
	}
	exec(`INSERT INTO tenants (id, domain, domain_key, display_name, created_at) VALUES ('t1', 'd.example', 'd.example', 'D', 1)`)
	future := encTime(time.Now().Add(time.Hour))
	for _, v := range []string{"sid-1", "jti-2", "jti-3"} {
		kind := session.RevokeToken
		if strings.HasPrefix(v, "sid") {
			kind = session.RevokeGrant
		}
		exec(`INSERT INTO revocations (tenant_id, kind, value, revoked_at, expires_at) VALUES ('t1', ?, ?, 1, ?)`, kind, v, future)
	}
	exec(`DELETE FROM revocations WHERE value = 'jti-3'`) // purged: seq 3 is never given again
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTemp(t, path)
	now := time.Now()
	kept, err := s.ListRevocations(ctx, "t1", 0, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept[0].Seq != 1 || kept[0].Value != "sid-1" || kept[1].Seq != 2 || kept[1].Value != "jti-2" {
		t.Fatalf("feed after the migration: %+v", kept)
	}
	if err := s.AppendRevocation(ctx, "t1", session.Revocation{Kind: session.RevokeSuperseded, Value: "sid-9", Audience: "api://x",
		Prior: "jti-9", Generation: 1, RevokedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	added, err := s.ListRevocations(ctx, "t1", 2, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 1 || added[0].Seq != 4 || added[0].Kind != session.RevokeSuperseded {
		t.Fatalf("the first entry after the migration: %+v, want seq 4 (3 was given before)", added)
	}
}

// Introspection's lookup reads the entries that name the token's values
// through revocations_by_value, never the feed in seq order (a scan of
// the tenant's feed, which is what the lookup replaces).
func TestLookupRevocationsUsesTheIndex(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "t.db"))
	for n := 1; n <= 6; n++ {
		args := make([]any, 0, n+2)
		for range n {
			args = append(args, "v")
		}
		args = append(args, "t1", int64(0))
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+lookupRevocations(n), args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), "USING INDEX revocations_by_value (value=? AND tenant_id=?)") {
			t.Errorf("the lookup of %d values does not probe revocations_by_value by value and tenant:\n%s", n, plan.String())
		}
	}
}
