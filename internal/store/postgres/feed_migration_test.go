package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
)

// A database at version 5 with feed entries and rotation chains comes to
// 0008 with them kept: entries and their numbers as they were, refresh
// tokens of generation 0, and the numbering going on after the highest
// number given; the new kind is accepted, an unknown one still refused.
func TestMigrationKeepsTheFeed(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.Schema(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version integer NOT NULL PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL, applied_by text NOT NULL)`)
	for _, m := range ms[:5] {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations VALUES ($1, $2, now(), 'test')`, m.Version, m.Name)
	}
	future := time.Now().Add(time.Hour)
	exec(`INSERT INTO tenants (id, domain, domain_key, display_name, created_at, policy) VALUES ('t1', 'd.example', 'd.example', 'D', now(), '{}')`)
	exec(`UPDATE revocation_seq SET last_seq = 7`) // entries 6 and 7 purged
	exec(`INSERT INTO revocations (seq, tenant_id, kind, value, revoked_at, expires_at) VALUES
		(4, 't1', 'sid', 'sid-1', now(), $1), (5, 't1', 'jti', 'jti-2', now(), $1)`, future)

	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	kept, err := s.ListRevocations(ctx, "t1", 0, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept[0].Seq != 4 || kept[0].Value != "sid-1" || kept[1].Seq != 5 || kept[1].Audience != "" || kept[1].Generation != 0 {
		t.Fatalf("feed after the migration: %+v", kept)
	}
	if err := s.AppendRevocation(ctx, "t1", session.Revocation{Kind: session.RevokeSuperseded, Value: "sid-9", Audience: "api://x",
		Prior: "jti-9", Generation: 1, RevokedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	added, err := s.ListRevocations(ctx, "t1", 5, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 1 || added[0].Seq != 8 || added[0].Prior != "jti-9" {
		t.Fatalf("the first entry after the migration: %+v, want seq 8", added)
	}
	if err := s.AppendRevocation(ctx, "t1", session.Revocation{Kind: "nonsense", Value: "x", ExpiresAt: now.Add(time.Hour)}); err == nil {
		t.Fatal("an unknown kind was accepted after the migration")
	}
}
