package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
)

// The revocation feed is numbered from one counter row (see
// appendRevocations), so its appends are serialised across every instance:
// each holds the row lock until its commit has been flushed. One append
// per transaction would cap the whole cluster at one WAL flush per feed
// entry, a few hundred a second, and every refresh appends one (the entry
// that supersedes its grant's earlier access tokens for the resource). feedWriter therefore groups the
// AppendRevocation calls of this process: while one group commits, the
// next gathers, and it goes in one transaction, one counter update and
// one flush, however many entries it holds. Each caller is answered only
// after its group has committed, so an entry is durable before the caller
// acts on it.
type feedWriter struct {
	s    *Store
	reqs chan *feedReq
	stop chan struct{}
	done chan struct{}
	// waiting counts the appends not yet answered and committed the
	// transactions written, for tests and metrics.
	waiting, committed atomic.Int64
}

type feedReq struct {
	ctx      context.Context
	tenantID string
	r        session.Revocation
	err      chan error
}

// maxFeedGroup bounds a group: the statement's arrays and the time the
// counter row stays locked.
const maxFeedGroup = 256

// feedGroupTimeout bounds one group's transaction; its callers' own
// contexts may be shorter and stop their wait, not the group.
const feedGroupTimeout = 30 * time.Second

func startFeedWriter(s *Store) *feedWriter {
	w := &feedWriter{s: s, reqs: make(chan *feedReq), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// errStoreClosed answers an append made while or after the store closes.
var errStoreClosed = errors.New("the store is closed")

// append hands one entry to the writer and waits until its group has
// committed, or ctx ends (the entry may still be written then: a
// revocation made more than asked is harmless).
func (w *feedWriter) append(ctx context.Context, tenantID string, r session.Revocation) error {
	req := &feedReq{ctx: ctx, tenantID: tenantID, r: r, err: make(chan error, 1)}
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
	defer close(w.done)
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

// commit writes a group in one transaction. If it fails, each entry is
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
	err := w.s.inTx(ctx, func(tx pgx.Tx) error { return appendFeedRows(ctx, tx, live) })
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
		err := w.s.inTx(ctx, func(tx pgx.Tx) error { return appendFeedRows(ctx, tx, []*feedReq{r}) })
		if err == nil {
			w.committed.Add(1)
		}
		r.err <- err
	}
}

// appendFeedRows is appendRevocations for entries of several tenants,
// each with its own times, numbered in the order given. A superseded entry
// is an upsert on revocations_superseding: it takes the place of its grant
// and audience's stored entry, with the next number, if that one is of an
// earlier generation, and changes nothing otherwise (its number is then
// left unused: followers skip gaps).
func appendFeedRows(ctx context.Context, tx pgx.Tx, rows []*feedReq) error {
	rows = latestSuperseding(rows)
	tenants := make([]string, len(rows))
	kinds := make([]string, len(rows))
	values := make([]string, len(rows))
	revoked := make([]time.Time, len(rows))
	expires := make([]time.Time, len(rows))
	auds := make([]string, len(rows))
	priors := make([]string, len(rows))
	generations := make([]int64, len(rows))
	for i, r := range rows {
		tenants[i], kinds[i], values[i], revoked[i], expires[i] = r.tenantID, r.r.Kind, r.r.Value, r.r.RevokedAt, r.r.ExpiresAt
		auds[i], priors[i], generations[i] = r.r.Audience, r.r.Prior, r.r.Generation
	}
	_, err := tx.Exec(ctx, `WITH counter AS (
			UPDATE revocation_seq SET last_seq = last_seq + cardinality($1::text[])
			WHERE id = 1 RETURNING last_seq - cardinality($1::text[]) AS base)
		INSERT INTO revocations (`+revocationColumns+`)
		SELECT counter.base + e.n, e.tenant, e.kind, e.value, e.revoked, e.expires, e.aud, e.prior_jti, e.generation
		FROM counter, unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
				$6::text[], $7::text[], $8::bigint[])
			WITH ORDINALITY AS e (tenant, kind, value, revoked, expires, aud, prior_jti, generation, n)
		ON CONFLICT (value, aud, tenant_id) WHERE kind = 'superseded' DO UPDATE
			SET seq = excluded.seq, revoked_at = excluded.revoked_at, expires_at = excluded.expires_at,
				prior_jti = excluded.prior_jti, generation = excluded.generation
			WHERE revocations.generation < excluded.generation`,
		tenants, kinds, values, revoked, expires, auds, priors, generations)
	return err
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
	<-w.done
}
