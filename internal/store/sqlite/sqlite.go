// Package sqlite is the SQLite storage engine of tessera: a store.Store in
// one database file, for single-node deployments, with no cgo.
//
// Values read back equal the values written, with the two normalisations
// the conformance suite requires of every engine: times come back in UTC,
// to the microsecond (see encTime), and nil slices come back empty (see
// nonNil).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store backed by one SQLite database file.
//
// It holds two pools on the same file. SQLite allows one writer at a time;
// if several connections competed for the write lock, the loser of a race
// would get SQLITE_BUSY (busy_timeout does not help a deferred transaction
// that tries to upgrade from reading to writing). So every write goes
// through w, a pool of exactly one connection whose transactions start with
// BEGIN IMMEDIATE: writers queue in database/sql, in Go, instead of
// fighting over the file lock, and an atomic operation (ConsumeOnce, key
// rotation) is simply a transaction on that connection. Reads go through r,
// a pool of query-only connections: in WAL mode readers neither block the
// writer nor wait for it, so the hot paths (client lookup, key listing)
// scale with cores while writes stay serial, which is what SQLite does
// anyway. busy_timeout remains for locks taken from outside the Store (a
// second process on the file, a backup): only one held longer than the
// timeout reaches a caller as an error.
type Store struct {
	w *sql.DB // the single write connection
	r *sql.DB // read-only connections
	// batch group-commits the session layer's write transactions on w
	// (see batcher).
	batch *batcher
	// now is the clock ConsumeOnce judges expiry by; the contract passes
	// it no time.
	now func() time.Time
	// stmts caches prepared read statements by query text (a bounded set:
	// every query is a constant). Preparing is about half the cost of a
	// point read, and database/sql re-prepares a *sql.Stmt on each pool
	// connection as needed.
	stmts sync.Map
}

// An Option changes how Open opens the store.
type Option func(*options)

type options struct{ noMigrate, readOnly bool }

// NoMigrate makes Open leave the schema as it is and refuse one older (or
// newer) than this binary's, for deployments that migrate as a step of
// their own (`tessera migrate up`).
func NoMigrate() Option { return func(o *options) { o.noMigrate = true } }

// ReadOnly opens an existing database that this process cannot write —
// a data folder on a read-only file system, or a copy for inspection —
// without creating anything beside it (no -wal, no -shm): every read
// works and every write fails (SQLITE_READONLY). The file is taken as
// immutable, so nothing else may write it meanwhile: for a read-only
// mount, nothing can. Implies NoMigrate.
func ReadOnly() Option { return func(o *options) { o.readOnly, o.noMigrate = true, true } }

// Open opens (creating it if needed) the database file at path and brings
// its schema up to date. It fails if the file's schema is newer than this
// binary knows. path must name a file: an in-memory database cannot be
// shared by the two pools.
//
// Every connection runs in WAL mode with synchronous=FULL, so a commit is
// on disk before the call returns: a token or code handed to a client is
// durable before the response is written.
//
// The file and its -wal and -shm companions are 0600 (createPrivate,
// makePrivate).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need the path of a database file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}

	if o.noMigrate {
		// Opening would create the file: with migrations off, a missing
		// database is refused like an old one, and nothing is made.
		if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: no database at %s and migrations at start are off (--migrate=false): run `tessera migrate up` first", abs)
		}
	}
	if o.readOnly {
		return openReadOnly(ctx, abs)
	}
	if !o.noMigrate {
		if err := createPrivate(abs); err != nil {
			return nil, fmt.Errorf("sqlite: create %s: %w", abs, err)
		}
	}
	w, err := sql.Open("sqlite", dsn(abs, connWrite))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The first connection switches the file to WAL; migrate before any
	// reader exists, so readers never see a half-built schema.
	if o.noMigrate {
		err = checkSchema(ctx, w)
	} else {
		err = migrate(ctx, w, time.Now())
	}
	if err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(abs, connRead))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{w: w, r: r, now: time.Now, batch: newBatcher(w)}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// After the first connections, which made the -wal and -shm files.
	makePrivate(abs)
	return s, nil
}

// openReadOnly is Open with ReadOnly: both pools on an immutable,
// read-only connection to the file.
func openReadOnly(ctx context.Context, abs string) (*Store, error) {
	// Immutable means the -wal file is not read: what a server wrote and
	// did not yet checkpoint would be missing. A cleanly closed database
	// has none (the last connection checkpoints and removes it).
	if fi, err := os.Stat(abs + "-wal"); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("sqlite: %s has a write-ahead log that is not checkpointed (a server is running on it, or stopped uncleanly): it cannot be read without writing; open it where it can be written", abs)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", abs, err)
	}
	ro := dsn(abs, connImmutable)
	w, err := sql.Open("sqlite", ro)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	if err := checkSchema(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", ro)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", abs, err)
	}
	s := &Store{w: w, r: r, now: time.Now, batch: newBatcher(w)}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// How a connection uses the file.
type connMode int

const (
	connWrite     connMode = iota // the writer: WAL, BEGIN IMMEDIATE
	connRead                      // a reader beside the writer
	connImmutable                 // a file nothing writes (see ReadOnly)
)

// dsn is the modernc.org/sqlite data source name for the file at abs. It is
// a file: URI so that any character in the path is escaped rather than read
// as the start of the parameters.
func dsn(abs string, mode connMode) string {
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	switch mode {
	case connImmutable:
		// No locks and no -wal or -shm: nothing may be created beside it.
		q.Set("mode", "ro")
		q.Set("immutable", "1")
		q.Set("_query_only", "on")
	case connRead:
		// query_only rather than mode=ro: a read-only open of a WAL file
		// fails when the -shm file has to be created.
		q.Set("_query_only", "on")
	default:
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
	}
	if mode != connImmutable {
		// busy_timeout covers the locks we do not serialise ourselves:
		// another process on the file (a CLI, a backup), a checkpoint, WAL
		// recovery.
		q.Set("_busy_timeout", "10000")
		q.Set("_synchronous", "FULL")
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// Ping checks that both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping readers: %w", err)
	}
	return nil
}

// Close closes both pools. Calls in progress finish first.
func (s *Store) Close() error {
	s.batch.close() // answers queued writes before w closes
	var errs []error
	s.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// prepared returns the cached read statement for query, preparing it on
// first use.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close() // another goroutine prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readRow runs a single-row query on the read pool.
func (s *Store) readRow(ctx context.Context, query string, args ...any) scanner {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return errScanner{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// errScanner is a row whose query could not be prepared.
type errScanner struct{ err error }

func (e errScanner) Scan(...any) error { return e.err }

// inTx runs fn in a transaction on db and commits if fn returns nil. On the
// write pool the transaction is BEGIN IMMEDIATE (see dsn).
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error is the one worth reporting
		return err
	}
	return tx.Commit()
}

// write runs fn in a write transaction and wraps its error for op.
func (s *Store) write(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return wrap(op, inTx(ctx, s.w, fn))
}

// fault classifies a driver error for stored.Wrap by its extended result
// code.
func fault(err error) stored.Fault {
	if errors.Is(err, sql.ErrNoRows) {
		return stored.FaultNoRows
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return stored.FaultUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return stored.FaultForeignKey
		}
	}
	return stored.FaultOther
}

// wrap is stored.Wrap for this engine.
func wrap(op string, err error) error {
	return stored.Wrap("sqlite", op, readOnlySays(err), fault(err))
}

// wrapSession is stored.WrapSession for this engine.
func wrapSession(op string, err error) error {
	return stored.WrapSession("sqlite", op, readOnlySays(err), fault(err))
}

// readOnlySays turns SQLite's "attempt to write a readonly database" into
// what to do about it.
func readOnlySays(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_READONLY {
		return fmt.Errorf("the database is read-only here (a read-only data folder or file system): changes need a writable one: %w", err)
	}
	return err
}

// writeSession runs fn in a write transaction, shared with the other
// writes queued meanwhile (see batcher), and wraps its error for op with
// wrapSession.
func (s *Store) writeSession(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return wrapSession(op, s.batch.do(ctx, fn))
}

// affected returns directory.ErrNotFound if res changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return directory.ErrNotFound
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner = stored.Row

// queryList runs a query on the read pool and scans every row with scan.
// The result is never nil, so an empty list compares equal however it was
// made.
func queryList[T any](ctx context.Context, s *Store, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, wrap(op, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := stored.ScanAll(rows, scan)
	return out, wrap(op, err)
}
