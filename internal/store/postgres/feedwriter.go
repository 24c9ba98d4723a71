package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-id/tessera/internal/session"
)

// The revocation feed is numbered from one counter row (see
// appendRevocations), so its appends are serialised across every instance:
// each holds the row lock until its commit has been flushed. One append
// per transaction would cap the whole cluster at one WAL flush per feed
// entry, a few hundred a second, and every refresh appends one (the entry
// that supersedes its grant's earlier access tokens for the resource).
// feedWriter therefore groups the AppendRevocation calls and the
// rotations (MarkRefreshTokenUsed) of this process: while one group
// commits, the next gathers, and it goes in one transaction, sent as one
// pipelined batch (one round trip), with one counter update and one
// flush, however many rotations and entries it holds. A rotation and the
// entry it appends are thereby one atomic write. Each caller is answered
// only after its group has committed, so a token or an entry is durable
// before the caller acts on it.
type feedWriter struct {
	s    *Store
	reqs chan *feedReq
	stop chan struct{}
	done sync.WaitGroup
	// waiting counts the appends not yet answered and committed the
	// transactions written, for tests and metrics.
	waiting, committed atomic.Int64
}

type feedReq struct {
	ctx      context.Context
	tenantID string
	r        session.Revocation // Kind "" for none (a rotation that supersedes nothing)
	rot      *rotation          // nil for a plain append
	err      chan error
}

// rotation is a MarkRefreshTokenUsed call in a group: its statement's
// arguments, and what the statement found.
type rotation struct {
	grantID   string // the successor's: the order the group locks grants in
	presented []byte
	successor []byte
	args      []any
	t         session.RefreshToken
	g         session.Grant
	rotated   bool
	err       error // of scanning what the statement returned: no row for an unknown token
}

// maxFeedGroup bounds a group: the statement's arrays and the time the
// counter row stays locked.
const maxFeedGroup = 256

// feedGroupTimeout bounds one group's transaction; its callers' own
// contexts may be shorter and stop their wait, not the group.
const feedGroupTimeout = 30 * time.Second

// startFeedWriter starts a writer that runs up to n groups at once. The
// feed's appends take one (their groups queue on the feed's counter row
// anyway); rotations take more, so that the database runs the rotation
// statements of several groups on several cores while one group holds the
// counter to commit (see rotationWriters).
func startFeedWriter(s *Store, n int) *feedWriter {
	w := &feedWriter{s: s, reqs: make(chan *feedReq), stop: make(chan struct{})}
	for range n {
		w.done.Go(w.run)
	}
	return w
}

// errStoreClosed answers an append made while or after the store closes.
var errStoreClosed = errors.New("the store is closed")

// append hands one entry to the writer and waits until its group has
// committed, or ctx ends (the entry may still be written then: a
// revocation made more than asked is harmless).
func (w *feedWriter) append(ctx context.Context, tenantID string, r session.Revocation) error {
	return w.do(&feedReq{ctx: ctx, tenantID: tenantID, r: r, err: make(chan error, 1)})
}

// rotate runs a rotation (and appends its superseded entry r, if it
// rotates) in the next group, and waits until the group has committed.
func (w *feedWriter) rotate(ctx context.Context, tenantID string, rot *rotation, r session.Revocation) error {
	return w.do(&feedReq{ctx: ctx, tenantID: tenantID, r: r, rot: rot, err: make(chan error, 1)})
}

// do hands req to the writer and waits for its group's outcome.
func (w *feedWriter) do(req *feedReq) error {
	ctx := req.ctx
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return errStoreClosed
	}
	select {
	case err := <-req.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *feedWriter) run() {
	group := make([]*feedReq, 0, maxFeedGroup)
	for {
		select {
		case first := <-w.reqs:
			group = append(group[:0], first)
		case <-w.stop:
			return
		}
		// Whoever is waiting now joins: the reqs channel is unbuffered,
		// so these are exactly the callers that arrived while the last
		// group committed.
	gather:
		for len(group) < maxFeedGroup {
			select {
			case r := <-w.reqs:
				group = append(group, r)
			default:
				break gather
			}
		}
		w.commit(group)
	}
}

// commit writes a group in one transaction. If it fails, each request is
// tried alone, so that one caller's bad entry (an unknown tenant) fails
// that caller only.
func (w *feedWriter) commit(group []*feedReq) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), feedGroupTimeout)
	defer cancel()
	err := w.s.runGroup(ctx, live)
	if err == nil {
		w.committed.Add(1)
	}
	if err == nil || len(live) == 1 {
		for _, r := range live {
			r.err <- err
		}
		return
	}
	for _, r := range live {
		err := w.s.runGroup(ctx, []*feedReq{r})
		if err == nil {
			w.committed.Add(1)
		}
		r.err <- err
	}
}

// runGroup runs a group's rotations, then its feed entries, as one
// pipelined batch: PostgreSQL runs a batch's statements in one implicit
// transaction, so they commit together, once, and none if one fails. The
// rotations lock their grants in id order, as revocations do (see
// revokeGrants), so that a group and a revocation of several grants queue
// rather than deadlock; the feed's counter is locked last, as everywhere.
// A serialization failure or deadlock runs the group again from the start.
func (s *Store) runGroup(ctx context.Context, group []*feedReq) error {
	rots := make([]*feedReq, 0, len(group))
	var plain []*feedReq
	for _, r := range group {
		if r.rot != nil {
			rots = append(rots, r)
		} else {
			plain = append(plain, r)
		}
	}
	slices.SortStableFunc(rots, func(a, b *feedReq) int { return strings.Compare(a.rot.grantID, b.rot.grantID) })
	// A rotation that supersedes nothing appends nothing: the group then
	// leaves the feed's counter alone.
	entries := latestSuperseding(plain)
	for _, r := range rots {
		if r.r.Kind != "" {
			entries = append(entries, r)
		}
	}
	var err error
	for range maxAttempts {
		b := &pgx.Batch{}
		for _, r := range rots {
			rot := r.rot
			b.Queue(rotateRefreshToken, rot.args...).QueryRow(func(row pgx.Row) error {
				// No row (an unknown token) is this caller's answer, not
				// the group's: the database commits the batch whatever the
				// client makes of a row. Any other error is the
				// database's, which rolled the whole batch back: it fails
				// the group, so that no caller is told it rotated.
				var err error
				rot.t, rot.g, err = scanTokenAndGrant(row, &rot.rotated)
				if rot.err = nil; errors.Is(err, pgx.ErrNoRows) {
					rot.err, err = err, nil
				}
				return err
			})
		}
		if len(entries) > 0 {
			// With a callback, so that Close reports its error.
			b.Queue(appendFeedRowsSQL, feedRowsArgs(entries)...).Exec(func(pgconn.CommandTag) error { return nil })
		}
		if err = s.pool.SendBatch(ctx, b).Close(); !retryable(err) {
			return err
		}
	}
	return err
}

// appendFeedRowsSQL appends entries of several tenants ($1 … $8, each with
// its own times), numbered in the order given. An entry of a rotation
// ($9 and $10 not null: the presented token's hash and its successor's) is
// appended only if that rotation won, which the batch's earlier statement
// left visible in the token's row. A superseded entry is an upsert on
// revocations_superseding: it takes the place of its grant and audience's
// stored entry, with the next number, if that one is of an earlier
// generation, and changes nothing otherwise (its number is then left
// unused: followers skip gaps).
const appendFeedRowsSQL = `WITH e AS (
		SELECT x.*, row_number() OVER (ORDER BY x.n) AS k
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
				$6::text[], $7::text[], $8::bigint[], $9::bytea[], $10::bytea[])
			WITH ORDINALITY AS x (tenant, kind, value, revoked, expires, aud, prior_jti, generation, presented, successor, n)
		WHERE x.presented IS NULL OR EXISTS (SELECT 1 FROM refresh_tokens r
			WHERE r.tenant_id = x.tenant AND r.hash = x.presented AND r.successor_hash = x.successor)),
	counter AS (
		UPDATE revocation_seq SET last_seq = last_seq + (SELECT count(*) FROM e)
		WHERE id = 1 RETURNING last_seq - (SELECT count(*) FROM e) AS base)
	INSERT INTO revocations (` + revocationColumns + `)
	SELECT counter.base + e.k, e.tenant, e.kind, e.value, e.revoked, e.expires, e.aud, e.prior_jti, e.generation
	FROM counter, e
	ON CONFLICT (value, aud, tenant_id) WHERE kind = 'superseded' DO UPDATE
		SET seq = excluded.seq, revoked_at = excluded.revoked_at, expires_at = excluded.expires_at,
			prior_jti = excluded.prior_jti, generation = excluded.generation
		WHERE revocations.generation < excluded.generation`

// feedRowsArgs are appendFeedRowsSQL's parameters for rows.
func feedRowsArgs(rows []*feedReq) []any {
	n := len(rows)
	tenants, kinds, values, auds, priors := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	revoked, expires := make([]time.Time, n), make([]time.Time, n)
	generations := make([]int64, n)
	presented, successors := make([][]byte, n), make([][]byte, n)
	for i, r := range rows {
		tenants[i], kinds[i], values[i], revoked[i], expires[i] = r.tenantID, r.r.Kind, r.r.Value, r.r.RevokedAt, r.r.ExpiresAt
		auds[i], priors[i], generations[i] = r.r.Audience, r.r.Prior, r.r.Generation
		if r.rot != nil {
			presented[i], successors[i] = r.rot.presented, r.rot.successor
		}
	}
	return []any{tenants, kinds, values, revoked, expires, auds, priors, generations, presented, successors}
}

// latestSuperseding leaves, of the superseded entries of one grant and
// audience in rows, only the one of the latest generation (the later one
// of equals): one INSERT … ON CONFLICT cannot update a row twice, and the
// others would be replaced by it at once anyway. Their callers are
// answered with the group's outcome, as if each had been written and
// superseded. Other entries are kept, in order.
func latestSuperseding(rows []*feedReq) []*feedReq {
	type key struct{ tenant, value, aud string }
	var latest map[key]int
	for i, r := range rows {
		if r.r.Kind != session.RevokeSuperseded {
			continue
		}
		if latest == nil {
			latest = map[key]int{}
		}
		k := key{r.tenantID, r.r.Value, r.r.Audience}
		if j, seen := latest[k]; !seen || rows[j].r.Generation <= r.r.Generation {
			latest[k] = i
		}
	}
	if len(latest) == 0 {
		return rows
	}
	out := make([]*feedReq, 0, len(rows))
	for i, r := range rows {
		if r.r.Kind == session.RevokeSuperseded && latest[key{r.tenantID, r.r.Value, r.r.Audience}] != i {
			continue
		}
		out = append(out, r)
	}
	return out
}

// close stops the writer after the group in progress, if any; appends
// waiting to join get errStoreClosed.
func (w *feedWriter) close() {
	close(w.stop)
	w.done.Wait()
}
