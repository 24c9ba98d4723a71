// Package stored is what the storage engines share besides their SQL: the
// stored formats of the JSON columns, the normalisers every value passes
// through on its way in and out, and the checks of the arguments of the
// storage contract. An engine keeps its SQL, its scanning and its locking;
// a rule about what a row holds lives here, once.
package stored

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/internal/token"
)

// CheckTenant refuses an object whose TenantID names another tenant than
// the call: storing it under either would hide a bug in the caller at a
// tenant boundary. An empty TenantID is filled from the call.
func CheckTenant(tenantID, objectTenantID string) error {
	if tenantID == "" {
		return errors.New("empty tenant id")
	}
	if objectTenantID != "" && objectTenantID != tenantID {
		return fmt.Errorf("object belongs to tenant %q, not %q", objectTenantID, tenantID)
	}
	return nil
}

// CheckHash refuses an empty hash: every empty hash would be the same
// value, so it can only be a caller's bug.
func CheckHash(what string, h []byte) error {
	if len(h) == 0 {
		return fmt.Errorf("empty %s hash", what)
	}
	return nil
}

// Nil and empty slices are one value to the store: both are written as
// empty and every slice read back is non-nil, so that a value read back
// compares equal (reflect.DeepEqual) to the one written once the writer's
// nil slices are read as empty, whichever engine stored it, and so that
// JSON renderings of stored objects show [] rather than null.

// NonNil returns s, or an empty slice if s is nil.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// MapSlice converts each element of in; the result is never nil.
func MapSlice[A, B any](in []A, f func(A) B) []B {
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

// EncJSON renders v for a JSON column (TEXT in SQLite, jsonb in
// PostgreSQL, to which pgx passes a string unchanged).
func EncJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// DecJSON reads a JSON column into v.
func DecJSON[B string | []byte](b B, v any) error { return json.Unmarshal([]byte(b), v) }

// CheckKeys checks the arguments of the signing-key writes: InitSigningKeys
// stores at least one key, RotateSigningKeys stores a next key.
func CheckKeys(keys []token.KeyRecord, next *token.KeyRecord) error {
	if next != nil && next.State != token.KeyNext {
		return fmt.Errorf("new key %s has state %q, want %q", next.ID, next.State, token.KeyNext)
	}
	if next == nil && len(keys) == 0 {
		return errors.New("no keys given")
	}
	return nil
}
