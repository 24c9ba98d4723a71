// Package pgtest gives tests a fresh, empty PostgreSQL schema of their own.
//
// Tests that need PostgreSQL run only when TESSERA_TEST_POSTGRES is set:
// to a postgres:// URL, or to any other value (such as 1) for the local
// server at 127.0.0.1:5432 with trust authentication and database test, as
// on the CI machine. Without it they skip, saying how to enable them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar enables the PostgreSQL tests.
const EnvVar = "TESSERA_TEST_POSTGRES"

// DefaultURL is the database used when EnvVar is set but not to a URL.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerURL returns the URL of the test server, or skips t when the
// PostgreSQL tests are not enabled.
func ServerURL(t testing.TB) string {
	t.Helper()
	v := os.Getenv(EnvVar)
	if v == "" {
		t.Skipf("PostgreSQL tests skipped: set %s=1 to run them against %s (or to a postgres:// URL)", EnvVar, DefaultURL)
	}
	if strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
		return v
	}
	return DefaultURL
}

// Schema creates a new schema on the test server, registers its removal
// (DROP SCHEMA … CASCADE) with t, and returns a URL whose connections use it
// as their search_path, so that everything a store creates lands in it and
// goes with it. Skips t like ServerURL.
func Schema(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "tessera_test_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", redact(base), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return WithSearchPath(base, name)
}

// WithSearchPath returns u with search_path set to schema.
func WithSearchPath(u, schema string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String()
}

func redact(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "the test database"
	}
	return pu.Redacted()
}
