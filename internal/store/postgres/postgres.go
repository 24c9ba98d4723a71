// Package postgres is the PostgreSQL storage engine of tessera: a
// store.Store on a shared database, for several instances behind a load
// balancer. It passes the same conformance suite (store/storetest) as the
// SQLite engine.
//
// Nothing here assumes it is the only process on the database. Every rule
// that must hold across instances (single-use codes and assertions,
// exactly-once refresh rotation, reuse detection, key rotation, lockout
// counters) is one transaction whose row locks or conditional writes decide
// the race in the database, never in Go.
//
// Values read back equal the values written, with the normalisations the
// conformance suite requires of every engine: times in UTC to the
// microsecond (timestamptz keeps microseconds; pgx truncates the rest, as
// SQLite's encoding does), nil slices read back empty.
//
// Schema conventions (see migrations/): times are timestamptz, and a time
// that has not happened yet (revoked_at, used_at, redeemed_at, …) holds the
// zero time.Time, 0001-01-01 00:00:00 UTC, as in the SQLite engine, so the
// two engines share one meaning of every column; durations are bigint
// nanoseconds; booleans are boolean; the nested parts of an application are
// jsonb; opaque values (codes, refresh tokens, session ids) are stored only
// as the keyed hashes the caller computes, as bytea.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// Store is a store.Store on a PostgreSQL database (the schema of the
// connection's search_path).
type Store struct {
	pool *pgxpool.Pool
	// now is the clock ConsumeOnce judges expiry by; the contract passes
	// it no time.
	now func() time.Time
	// applied lists the migrations this Open applied (empty when the
	// schema was already current), for the caller to log.
	applied []string
	// feed groups the revocation feed's appends, rotations groups the
	// refresh token rotations with the entries they append (see
	// feedWriter).
	feed, rotations *feedWriter
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string, as libpq takes; pool_max_conns and the other pgxpool
// settings may be given in it), brings the schema up to date under an
// advisory lock (see Migrate) and checks that it can serve.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, errors.New("postgres: cannot parse the database URL (check its form; it is not repeated here because it may hold a password)")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, now: time.Now}
	if o.noMigrate {
		err = checkSchema(ctx, pool)
	} else {
		s.applied, err = migrate(ctx, pool, time.Now())
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.feed = startFeedWriter(s, 1)
	s.rotations = startFeedWriter(s, rotationWriters)
	return s, nil
}

// defaultMaxConns is the pool's size unless the DSN sets pool_max_conns.
// pgxpool's own default, one connection per CPU (four at least), is too
// few for a server whose every request makes a few short round trips: a
// refresh reads its token, its user and its consent, and waits on the
// group commit of its rotation; with as many connections as CPUs the
// requests queue for a connection while the database has cores to spare.
// Connections are opened as they are needed, so an idle server holds few.
func defaultMaxConns() int32 { return int32(max(16, 4*runtime.NumCPU())) }

// rotationWriters is how many groups of rotations run at once: the
// database runs the statements of several groups on several cores, while
// their commits queue on the feed's counter row (bench/stores.sh, two
// cores: one group at a time gave no more throughput than a statement per
// rotation, with twice the p99).
const rotationWriters = 4

// An Option changes how Open opens the store.
type Option func(*options)

type options struct{ noMigrate bool }

// NoMigrate makes Open leave the schema as it is and refuse one older (or
// newer) than this binary's, for deployments that migrate as a step of
// their own (`tessera migrate up`) before they roll out a new version.
func NoMigrate() Option { return func(o *options) { o.noMigrate = true } }

// Applied returns the names of the migrations Open applied, oldest first:
// empty when another instance (or an earlier start) had applied them.
func (s *Store) Applied() []string { return s.applied }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool; calls in progress finish first.
func (s *Store) Close() error {
	s.rotations.close()
	s.feed.close()
	s.pool.Close()
	return nil
}

// Pool is the connection pool, for the engine's own tools (LISTEN, tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Serialization failures and deadlocks are the database telling two
// transactions apart; the loser is retried a few times from the start
// before its caller sees an error. The transactions here take row locks in
// a fixed order (parent before child), so these are rare.
const maxAttempts = 4

// inTx runs fn in a READ COMMITTED transaction and commits if fn returns
// nil, retrying from the start on a serialization failure or deadlock. fn
// must therefore be safe to run again: it may not keep state across calls
// other than what it rebuilds at its start.
//
// The commit returns after the WAL record is flushed (synchronous_commit
// on, PostgreSQL's default; do not turn it off for tessera): a token or
// code handed to a client is durable before the response is written.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for range maxAttempts {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// write runs fn in a transaction and wraps its error for op with wrap.
func (s *Store) write(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return wrap(op, s.inTx(ctx, fn))
}

// writeSession is write for the session.Repository methods (wrapSession).
func (s *Store) writeSession(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return wrapSession(op, s.inTx(ctx, fn))
}

// PostgreSQL error codes the contract maps to its own errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// fault classifies a server error for stored.Wrap by its SQLSTATE.
func fault(err error) stored.Fault {
	if errors.Is(err, pgx.ErrNoRows) {
		return stored.FaultNoRows
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return stored.FaultUnique
		case codeForeignKeyViolation:
			return stored.FaultForeignKey
		}
	}
	return stored.FaultOther
}

// wrap is stored.Wrap for this engine.
func wrap(op string, err error) error { return stored.Wrap("postgres", op, err, fault(err)) }

// wrapSession is stored.WrapSession for this engine.
func wrapSession(op string, err error) error {
	return stored.WrapSession("postgres", op, err, fault(err))
}

// affected returns directory.ErrNotFound if tag changed no row.
func affected(tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return directory.ErrNotFound
	}
	return nil
}

// queryList runs a query and scans every row with scan. The result is never
// nil, so an empty list compares equal however it was made.
func queryList[T any](ctx context.Context, q querier, op string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := stored.ScanAll(rows, func(r stored.Row) (T, error) { return scan(r) })
	return out, wrap(op, err)
}

// querier is what the pool and a transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

var (
	_ querier = (*pgxpool.Pool)(nil)
	_ querier = (pgx.Tx)(nil)
)
