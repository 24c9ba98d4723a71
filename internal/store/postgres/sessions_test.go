package postgres

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/storetest"
)

// The session half raced across two instances on one schema (see
// openPair): the races the SQLite engine settles with its one writer are
// settled here by row locks, and these tests check the orders of locking
// that the conformance suite's races do not reach.

func testGrant(tenantID, id, browserSessionID string) session.Grant {
	return session.Grant{TenantID: tenantID, ID: id, UserID: "user-1", ClientID: "client-1",
		BrowserSessionID: browserSessionID, Scopes: []string{"openid"}, AuthTime: t0, CreatedAt: t0,
		ExpiresAt: t0.AddDate(1, 0, 0)}
}

func testRefreshToken(tenantID, name, grantID string, created time.Time) session.RefreshToken {
	return session.RefreshToken{TenantID: tenantID, Hash: []byte("rt " + name), GrantID: grantID, ClientID: "client-1",
		CreatedAt: created, ExpiresAt: created.AddDate(0, 0, 90), AccessTokens: session.IssuedTokens{{Audience: "api://one", ID: "jti " + name}},
		AccessTokenExpiresAt: created.Add(time.Hour)}
}

// A logout racing sign-ins in the same browser session leaves no grant of
// the session active: each grant is either made before the logout (and
// revoked by it, with its feed entry) or refused with ErrRevoked.
func TestInstancesLogoutRacingGrants(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	addTestTenant(t, pair[0], "a")
	bs := session.BrowserSession{TenantID: "a", ID: "bs-1", IDHash: []byte("cookie"), UserID: "user-1",
		AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(8 * time.Hour)}
	mustDo(t, pair[0].CreateBrowserSession(ctx, "a", bs))

	const n = 16
	var revoked []string
	errs := raceOn(pair, n+1, func(s *Store, i int) error {
		if i == n {
			var err error
			revoked, err = s.RevokeBrowserSession(ctx, "a", bs.IDHash, t0.Add(time.Minute), farAhead)
			return err
		}
		return s.CreateGrant(ctx, "a", testGrant("a", fmt.Sprint("grant-", i), "bs-1"))
	})
	mustDo(t, errs[n])
	var made []string
	for i, err := range errs[:n] {
		switch {
		case err == nil:
			made = append(made, fmt.Sprint("grant-", i))
		case !errors.Is(err, session.ErrRevoked):
			t.Fatalf("grant-%d: %v", i, err)
		}
	}
	for _, id := range made {
		g, err := pair[1].GetGrant(ctx, "a", id)
		mustDo(t, err)
		if g.RevokedAt.IsZero() {
			t.Fatalf("%s was made in the session and survived its logout", id)
		}
	}
	slices.Sort(made)
	slices.Sort(revoked)
	if !slices.Equal(made, revoked) {
		t.Fatalf("the logout revoked %v, but the grants made in the session are %v", revoked, made)
	}
	feed, err := pair[0].ListRevocations(ctx, "a", 0, t0, 100)
	mustDo(t, err)
	if len(feed) != len(made) {
		t.Fatalf("%d feed entries for %d revoked grants", len(feed), len(made))
	}
}

// A rotation racing its grant's revocation either rotates before it (and
// the revocation then erases the sealed response the rotation stored) or
// finds the grant revoked: no sealed response of a revoked grant, which
// carries a usable pair, stays in the database.
func TestInstancesRotationRacingRevocation(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	addTestTenant(t, pair[0], "a")
	const rounds = 30
	for r := range rounds {
		id := fmt.Sprint("grant-", r)
		mustDo(t, pair[0].CreateGrant(ctx, "a", testGrant("a", id, "")))
		first := testRefreshToken("a", id+"-1", id, t0)
		mustDo(t, pair[0].CreateRefreshToken(ctx, "a", first))
		errs := raceOn(pair, 2, func(s *Store, i int) error {
			if i == 0 {
				_, err := storetest.Rotate(ctx, s, "a", first.Hash, testRefreshToken("a", id+"-2", id, t0.Add(time.Second)),
					[]byte("sealed"), t0.Add(time.Second), time.Minute, farAhead)
				return err
			}
			return s.RevokeGrant(ctx, "a", id, t0.Add(time.Second), farAhead)
		})
		if errs[0] != nil && !errors.Is(errs[0], session.ErrRevoked) {
			t.Fatalf("round %d: rotation: %v", r, errs[0])
		}
		mustDo(t, errs[1])
		rt, g, err := pair[1].GetRefreshToken(ctx, "a", first.Hash)
		mustDo(t, err)
		if g.RevokedAt.IsZero() {
			t.Fatalf("round %d: the grant is not revoked", r)
		}
		if len(rt.SuccessorSealed) > 0 {
			t.Fatalf("round %d: a revoked grant's token keeps its sealed response (rotation: %v)", r, errs[0])
		}
	}
}

// Rotations of one token from two instances: exactly one stores a
// successor, and with no grace window every other is a reuse that revokes
// the grant, once.
func TestInstancesRotateOnce(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	addTestTenant(t, pair[0], "a")
	mustDo(t, pair[0].CreateGrant(ctx, "a", testGrant("a", "grant-1", "")))
	first := testRefreshToken("a", "1", "grant-1", t0)
	mustDo(t, pair[0].CreateRefreshToken(ctx, "a", first))
	const n = 16
	errs := raceOn(pair, n, func(s *Store, i int) error {
		_, err := storetest.Rotate(ctx, s, "a", first.Hash, testRefreshToken("a", fmt.Sprint("next-", i), "grant-1", t0),
			[]byte("sealed"), t0, 0, farAhead)
		return err
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, session.ErrUsed) && !errors.Is(err, session.ErrRevoked):
			// A loser that comes after another loser's reuse finds the
			// family revoked.
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d rotations won, want 1", won)
	}
	feed, err := pair[1].ListRevocations(ctx, "a", 0, t0, 100)
	mustDo(t, err)
	if len(feed) != 1 || feed[0].Kind != session.RevokeGrant || feed[0].Value != "grant-1" {
		t.Fatalf("feed: %+v, want one entry revoking grant-1", feed)
	}
}
