package storetest

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

func testRedeemCode(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addGrant(t, s, "a", "grant-1", "", t0)
	c := newCode("a", "code-1", "grant-1", t0)
	must(t, s.CreateCode(ctx, "a", c))

	// GetCode reads without spending, and sees only its own tenant.
	got, err := s.GetCode(ctx, "a", c.Hash)
	must(t, err)
	wantEqual(t, got, c)
	addTenant(t, s, "b")
	_, err = s.GetCode(ctx, "b", c.Hash)
	wantErr(t, err, session.ErrNotFound)

	got, err = Redeem(ctx, s, "a", c.Hash, at(5))
	must(t, err)
	c.RedeemedAt = at(5)
	wantEqual(t, got, c)

	// A replay gets the code back (its grant, to revoke) with ErrUsed,
	// and changes nothing, also when the grant has been revoked since.
	got, err = Redeem(ctx, s, "a", c.Hash, at(6))
	wantErr(t, err, session.ErrUsed)
	wantEqual(t, got, c)
	got, err = s.GetCode(ctx, "a", c.Hash)
	must(t, err)
	wantEqual(t, got, c)
	must(t, s.RevokeGrant(ctx, "a", "grant-1", at(7), feedExpiry))
	got, err = Redeem(ctx, s, "a", c.Hash, at(8))
	wantErr(t, err, session.ErrUsed)
	wantEqual(t, got, c)

	// Without scopes: read back with an empty list.
	addGrant(t, s, "a", "grant-2", "", t0)
	bare := newCode("a", "code-2", "grant-2", t0)
	bare.Scopes = nil
	must(t, s.CreateCode(ctx, "a", bare))
	got, err = Redeem(ctx, s, "a", bare.Hash, at(1))
	must(t, err)
	bare.Scopes, bare.RedeemedAt = []string{}, at(1)
	wantEqual(t, got, bare)
}

func testCodeErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	wantErr(t, s.CreateCode(ctx, "a", newCode("a", "code-1", "grant-missing", t0)), session.ErrNotFound)
	addGrant(t, s, "a", "grant-1", "", t0)
	_, err := Redeem(ctx, s, "a", hash("code-1"), at(1))
	wantErr(t, err, session.ErrNotFound)

	c := newCode("a", "code-1", "grant-1", t0)
	must(t, s.CreateCode(ctx, "a", c))
	wantErr(t, s.CreateCode(ctx, "a", newCode("a", "code-1", "grant-1", at(1))), directory.ErrConflict)

	// Expired once now reaches ExpiresAt; a failed redemption changes
	// nothing, so the code still works at an earlier time.
	_, err = Redeem(ctx, s, "a", c.Hash, c.ExpiresAt)
	wantErr(t, err, session.ErrExpired)
	_, err = Redeem(ctx, s, "a", c.Hash, c.ExpiresAt.Add(time.Hour))
	wantErr(t, err, session.ErrExpired)
	_, err = Redeem(ctx, s, "a", c.Hash, c.ExpiresAt.Add(-time.Microsecond))
	must(t, err)

	// A code does not outlive its grant.
	short := newGrant("a", "grant-2", "", t0)
	short.ExpiresAt = at(60)
	must(t, s.CreateGrant(ctx, "a", short))
	must(t, s.CreateCode(ctx, "a", newCode("a", "code-2", "grant-2", t0)))
	_, err = Redeem(ctx, s, "a", hash("code-2"), at(60))
	wantErr(t, err, session.ErrExpired)
}
