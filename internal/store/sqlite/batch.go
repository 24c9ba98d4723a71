package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tessera-id/tessera/internal/metrics"
)

// maxBatch caps the operations one group commit runs: enough to share an
// fsync among every request a busy token endpoint has in flight, small
// enough that the first caller of a batch does not wait long for the last.
const maxBatch = 128

// errClosed answers a write submitted to, or left queued in, a closed
// Store.
var errClosed = errors.New("store is closed")

// batcher is group commit on the single write connection. Each write
// transaction of the session layer becomes an op queued to one writer
// goroutine, which runs every op it finds queued (up to maxBatch) in ONE
// transaction, each op inside its own SAVEPOINT, and commits once. With
// synchronous=FULL the commit is the fsync that dominates a durable write
// (about a millisecond on common disks against tens of microseconds of
// SQL), so a batch of n ops costs about one op's time instead of n.
//
// The rules that keep this exact:
//   - An op that fails is rolled back to its savepoint, and only it: the
//     others of the batch still commit (an ErrUsed or a constraint of one
//     caller is no one else's failure).
//   - No caller is answered before the commit that makes its op durable,
//     so "a token handed to a client is durable before the response is
//     written" holds as with one transaction per call. If the commit
//     fails, every op of the batch gets the error.
//   - Ops run in order, on one connection, so the serialisation the
//     single writer gave (exactly one of concurrent rotations of a token
//     wins) is unchanged: a later op sees the earlier ones' writes.
//   - There is no timer: the writer starts a batch as soon as it is free,
//     with whatever queued while it was busy. An idle store runs a lone op
//     at once, adding no latency; a busy one batches exactly as much as
//     the disk makes wait.
type batcher struct {
	db      *sql.DB
	ops     chan *batchOp
	quit    chan struct{} // closed by close: stop taking ops
	stopped chan struct{} // closed when the writer has returned
	once    sync.Once

	// stmts are the hot write statements, prepared once on the write
	// connection: parsing is a third of a rotation's CPU. Only the writer
	// goroutine reads the map, after filling it.
	stmts map[string]*sql.Stmt

	// afterBatch, when set (by tests), is called with the size of each
	// batch after its callers are answered.
	afterBatch func(n int)
}

// batchOp is one caller's transaction body and the channel its answer
// goes back on.
type batchOp struct {
	ctx context.Context
	fn  func(*sql.Tx) error
	res chan error // buffered: the writer never blocks on a caller
}

func newBatcher(db *sql.DB) *batcher {
	b := &batcher{
		db:      db,
		ops:     make(chan *batchOp, maxBatch),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go b.run()
	return b
}

// do runs fn as part of a group commit and returns its error, or the
// batch's if the batch could not commit. Once fn has started, do waits for
// the commit even if ctx ends, so that a caller never reports failure for
// a write that then becomes durable behind its back, nor success early.
func (b *batcher) do(ctx context.Context, fn func(*sql.Tx) error) error {
	start := time.Now()
	defer func() { metrics.Store(metrics.StoreWrite, time.Since(start)) }()
	op := &batchOp{ctx: ctx, fn: fn, res: make(chan error, 1)}
	select {
	case b.ops <- op:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-op.res:
		return err
	case <-b.stopped:
		// The writer answers before it stops; an op it never took is
		// answered here.
		select {
		case err := <-op.res:
			return err
		default:
			return errClosed
		}
	}
}

// close stops the writer after the batch in progress and answers every op
// still queued with errClosed.
func (b *batcher) close() {
	b.once.Do(func() {
		close(b.quit)
		<-b.stopped
	})
}

func (b *batcher) run() {
	defer close(b.stopped)
	b.prepare()
	defer func() {
		for _, st := range b.stmts {
			_ = st.Close()
		}
	}()
	batch := make([]*batchOp, 0, maxBatch)
	for {
		select {
		case op := <-b.ops:
			batch = append(batch[:0], op)
		case <-b.quit:
			return
		}
	collect:
		for len(batch) < maxBatch {
			select {
			case op := <-b.ops:
				batch = append(batch, op)
			default:
				break collect
			}
		}
		start := time.Now()
		b.commit(batch)
		metrics.Store(metrics.StoreCommit, time.Since(start))
		metrics.Batch(len(batch))
		if b.afterBatch != nil {
			b.afterBatch(len(batch))
		}
		clear(batch) // let the ops' closures be collected
	}
}

// commit runs ops in one transaction and answers each. An op whose
// failure ended the whole transaction (SQLite rolls back everything on
// some errors, an interrupt among them) is answered with its error and
// the others are run again in a fresh transaction: each retry drops one
// op, so this ends. Op bodies are re-runnable: they are functions of the
// transaction, which the rollback restored.
func (b *batcher) commit(ops []*batchOp) {
	errs := make([]error, len(ops))
	pending := make([]int, 0, len(ops))
	for i, op := range ops {
		// An op whose caller gave up while it queued is not run; once run
		// it is committed or not whatever its context does (see do).
		if err := op.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		pending = append(pending, i)
	}
	for len(pending) > 0 {
		dead, err := b.try(ops, pending, errs)
		if dead < 0 {
			for _, i := range pending {
				if err != nil {
					errs[i] = err // the commit failed: nothing is durable
				}
			}
			break
		}
		errs[pending[dead]] = err
		pending = append(pending[:dead], pending[dead+1:]...)
	}
	for i, op := range ops {
		op.res <- errs[i]
	}
}

// try runs the ops at indices pending in one transaction, recording each
// op's own error in errs, and commits. It returns dead >= 0 if the op at
// pending[dead] failed in a way that ended the transaction (nothing is
// committed; err is that op's error), else -1 and the error of begin or
// commit, which then applies to every op.
func (b *batcher) try(ops []*batchOp, pending []int, errs []error) (dead int, err error) {
	// Context.Background: the batch belongs to no caller. Statements in an
	// op still run under its caller's context (the closures hold it);
	// should one be interrupted, the recovery above drops that op alone.
	tx, err := b.db.BeginTx(context.Background(), nil)
	if err != nil {
		return -1, err
	}
	for n, i := range pending {
		if err := b.savepoint(tx, "SAVEPOINT op"); err != nil {
			_ = tx.Rollback()
			return -1, err
		}
		opErr := ops[i].fn(tx)
		if opErr == nil {
			opErr = ops[i].ctx.Err() // interrupted but reported no error: do not keep half an op
		}
		if opErr == nil {
			if err := b.savepoint(tx, "RELEASE op"); err != nil {
				_ = tx.Rollback()
				return n, err
			}
			errs[i] = nil
			continue
		}
		errs[i] = opErr
		// ROLLBACK TO fails if SQLite already rolled the transaction back:
		// then the earlier ops are gone too and must run again.
		if b.savepoint(tx, "ROLLBACK TO op") != nil || b.savepoint(tx, "RELEASE op") != nil {
			_ = tx.Rollback()
			return n, opErr
		}
	}
	if err := tx.Commit(); err != nil {
		return -1, fmt.Errorf("commit a batch of %d writes: %w", len(pending), err)
	}
	return -1, nil
}

// savepoint runs a savepoint statement; its context is not a caller's, so
// a cancelled caller cannot interrupt the batch's bookkeeping.
func (b *batcher) savepoint(tx *sql.Tx, stmt string) error {
	_, err := b.exec(context.Background(), tx, stmt)
	return err
}

// hotStatements are prepared by prepare: the batch's own and those of a
// refresh token rotation, the busiest write, and of the feed entry it makes.
var hotStatements = []string{"SAVEPOINT op", "RELEASE op", "ROLLBACK TO op",
	tokenAndGrant, markRefreshTokenUsed, insertRefreshTokenSQL, dropSuperseded, insertSuperseded}

// prepare prepares hotStatements on the write connection, before the
// writer holds it in a transaction. One that fails to prepare is left out
// and simply parsed on every use.
func (b *batcher) prepare() {
	b.stmts = make(map[string]*sql.Stmt, len(hotStatements))
	for _, q := range hotStatements {
		if st, err := b.db.PrepareContext(context.Background(), q); err == nil {
			b.stmts[q] = st
		}
	}
}

// exec runs query in tx, through its prepared statement if it has one.
// Ops call it from the writer goroutine only.
func (b *batcher) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st, ok := b.stmts[query]; ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// queryRow is exec for a single-row query.
func (b *batcher) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st, ok := b.stmts[query]; ok {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}
