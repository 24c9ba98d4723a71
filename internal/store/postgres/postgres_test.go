package postgres

import (
	"context"
	"testing"

	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
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
