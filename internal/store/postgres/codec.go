package postgres

import (
	"encoding/json"
	"time"
)

// utc is how every time read back leaves the store: pgx returns timestamptz
// in the local zone, the contract promises UTC. The zero time (a time that
// has not happened yet) reads back as the zero time.Time.
func utc(t time.Time) time.Time { return t.UTC() }

// Nil and empty slices are one value to the store (as in the SQLite
// engine): both are written as empty and every slice read back is non-nil.

// nonNil returns s, or an empty slice if s is nil.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// mapSlice converts each element of in; the result is never nil.
func mapSlice[A, B any](in []A, f func(A) B) []B {
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

// encJSON renders v for a jsonb column. Sent as text: pgx passes a string
// to jsonb unchanged.
func encJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func decJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
