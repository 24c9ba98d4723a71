package postgres

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/store/storetest"
)

// openTest opens a store on a fresh schema of the test server (skipping
// the test when TESSERA_TEST_POSTGRES is not set) and closes it at the end.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

// A backup made on SQLite restores on PostgreSQL (tessera migrate copy),
// and one made on PostgreSQL restores on SQLite.
func TestDumpAcrossEngines(t *testing.T) {
	lite := func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tessera.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	pg := func(t *testing.T) store.Store { return openTest(t) }
	t.Run("SQLiteToPostgreSQL", func(t *testing.T) { storetest.Across(t, lite, pg) })
	t.Run("PostgreSQLToSQLite", func(t *testing.T) { storetest.Across(t, pg, lite) })
}

// store.Tables describes every table the migrations make (see the SQLite
// engine's test of the same name).
func TestTablesDescribeTheSchema(t *testing.T) {
	s := openTest(t)
	rows, err := s.pool.Query(t.Context(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name NOT IN ('schema_migrations', 'revocation_seq', 'directory_version')
		ORDER BY table_name, ordinal_position`)
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
