package oauth_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// feedReads counts the feed entries the sessions' repository hands out,
// whichever way they are read: by cursor (ListRevocations) or by value
// (LookupRevocations, when the repository has it).
type feedReads struct {
	session.Repository
	entries atomic.Int64
}

func (r *feedReads) ListRevocations(ctx context.Context, tenantID string, after int64, now time.Time, limit int) ([]session.Revocation, error) {
	list, err := r.Repository.ListRevocations(ctx, tenantID, after, now, limit)
	r.entries.Add(int64(len(list)))
	return list, err
}

// lookup is the lookup by value, named here so that this test reads the
// same against a repository that lacks it.
type lookup interface {
	LookupRevocations(ctx context.Context, tenantID string, values []string, now time.Time) ([]session.Revocation, error)
}

func (r *feedReads) LookupRevocations(ctx context.Context, tenantID string, values []string, now time.Time) ([]session.Revocation, error) {
	list, err := r.Repository.(lookup).LookupRevocations(ctx, tenantID, values, now)
	r.entries.Add(int64(len(list)))
	return list, err
}

// Introspection (RFC 7662) reads the entries that could concern the token,
// not the feed: after n refreshes of one sign-in, and with n other
// revocations in the tenant's feed, introspecting a token costs the same
// number of entries whatever n (M4: it paged through the whole feed per
// call, and every refresh added an entry to it). The answers stay right:
// the newest token is active, the first one (replaced) is not.
func TestIntrospectionReadsOnlyTheTokensEntries(t *testing.T) {
	read := map[int]int64{}
	for _, n := range []int{10, 300} {
		reads := &feedReads{}
		f := newFixtureWith(t, func(r session.Repository) session.Repository { reads.Repository = r; return reads })
		first, _ := f.tokensFor(fullScope)
		at, rt := first.str("access_token"), first.str("refresh_token")
		for range n {
			f.clock.Advance(time.Second)
			r := f.refresh(f.public.AppID, rt, nil)
			if r.status != 200 {
				t.Fatalf("refresh: %d %s", r.status, r.raw)
			}
			at, rt = r.str("access_token"), r.str("refresh_token")
			// Other users' revocations: entries the token has nothing to do with.
			check(t, f.sess.RevokeToken(f.ctx, f.tenant.ID, "other-"+rt[len(rt)-12:], f.clock.Now().Add(time.Hour)))
		}
		reads.entries.Store(0)
		if !f.active(at) {
			t.Fatalf("after %d refreshes the newest access token is inactive", n)
		}
		read[n] = reads.entries.Load()
		if f.active(first.str("access_token")) {
			t.Errorf("after %d refreshes the first access token, which they replaced, is active", n)
		}
	}
	if read[300] != read[10] || read[300] > 2 {
		t.Fatalf("introspecting the newest token read %d feed entries after 10 refreshes and %d after 300, want the same few",
			read[10], read[300])
	}
}
