package sqlite

import (
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
