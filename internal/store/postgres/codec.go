package postgres

import (
	"time"
)

// utc is how every time read back leaves the store: pgx returns timestamptz
// in the local zone, the contract promises UTC. The zero time (a time that
// has not happened yet) reads back as the zero time.Time.
func utc(t time.Time) time.Time { return t.UTC() }
