package sqlite

import (
	"encoding/json"
	"time"
)

// Times are stored as INTEGER microseconds since the Unix epoch and come
// back in UTC. Microseconds rather than nanoseconds because an int64 of
// nanoseconds ends in 2262, before the "never expires" dates identity
// systems use (Entra: 2299-12-31), and because PostgreSQL's timestamptz
// keeps microseconds: both engines then return the same value. The zero
// time.Time is a valid value (year 1) and round-trips to the zero value.
// Anything below a microsecond is dropped.
func encTime(t time.Time) int64 { return t.UnixMicro() }

func decTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// unset is encTime(time.Time{}) as SQL text: the value of a time that has
// not happened yet (revoked_at, used_at, redeemed_at, …). Queries compare
// with it as a literal, so that their text stays constant (see prepared).
const unset = "-62135596800000000"

func encBool(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Nil and empty slices are one value to the store: both are written as
// empty and every slice read back is non-nil, so that a value read back
// compares equal (reflect.DeepEqual) to the one written once the writer's
// nil slices are read as empty, whichever engine stored it, and so that
// JSON renderings of stored objects show [] rather than null.

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

func encJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func decJSON(s string, v any) error { return json.Unmarshal([]byte(s), v) }
