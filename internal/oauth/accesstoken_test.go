package oauth_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/oauth"
)

// VerifyAccessToken, which the admin API calls on every request, answers
// what introspection answers (RFC 7662 §2.2 "active"): each row is a
// token introspection calls inactive, and VerifyAccessToken must refuse it
// with the matching error (a revoked token with its claims, for the audit
// log), never accept it.
func TestVerifyAccessTokenIsIntrospection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spoil  func(f *fixture, at, sid string) string
		target error // nil: accepted
	}{
		{"valid", func(_ *fixture, at, _ string) string { return at }, nil},
		{"RFC 7009: the access token revoked", func(f *fixture, at, _ string) string {
			if r := f.revoke(url.Values{"client_id": {f.public.AppID}, "token": {at}}); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			return at
		}, oauth.ErrTokenRevoked},
		{"its grant revoked (sign-out)", func(f *fixture, at, sid string) string {
			if err := f.sess.RevokeGrant(f.ctx, f.tenant.ID, sid); err != nil {
				t.Fatal(err)
			}
			return at
		}, oauth.ErrTokenRevoked},
		{"its user disabled", func(f *fixture, at, _ string) string {
			if _, err := f.dir.SetUserEnabled(f.ctx, f.tenant.ID, f.user.ObjectID, false); err != nil {
				t.Fatal(err)
			}
			return at
		}, oauth.ErrTokenRevoked},
		{"expired", func(f *fixture, at, _ string) string {
			f.clock.Advance(2 * time.Hour)
			return at
		}, oauth.ErrTokenInvalid},
		{"payload tampered", func(_ *fixture, at, _ string) string {
			p := strings.Split(at, ".")
			return p[0] + "." + p[1] + "x." + p[2]
		}, oauth.ErrTokenInvalid},
		{"not a token", func(*fixture, string, string) string { return "not-a-token" }, oauth.ErrTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			r, sid := f.tokensFor(fullScope)
			at := tc.spoil(f, r.str("access_token"), sid)
			got, err := f.handler.VerifyAccessToken(f.ctx, at)
			if !errors.Is(err, tc.target) || (tc.target == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.target)
			}
			if active := f.active(at); active != (tc.target == nil) {
				t.Errorf("introspection says active %v", active)
			}
			if tc.target != oauth.ErrTokenInvalid && (got.ObjectID != f.user.ObjectID || got.SessionID != sid || got.ClientID() != f.public.AppID) {
				t.Errorf("claims %+v, want the user's, its sid and its client", got)
			}
		})
	}
}

// An ID token is not an access token (OIDC Core §2: its audience is the
// client, and it carries no azp or appid): introspection calls it
// inactive, and neither the admin API (VerifyAccessToken) nor the product
// logout accepts it, even though this server signed it and it is valid.
func TestIDTokenIsNoAccessToken(t *testing.T) {
	f := newFixture(t)
	r, _ := f.tokensFor(fullScope)
	id := r.str("id_token")
	if id == "" {
		t.Fatal("no id_token to present")
	}
	if _, err := f.handler.VerifyAccessToken(f.ctx, id); !errors.Is(err, oauth.ErrTokenInvalid) {
		t.Errorf("VerifyAccessToken(id_token): %v, want ErrTokenInvalid", err)
	}
	if in := f.introspect(id); in.body["active"] != false || len(in.body) != 1 {
		t.Errorf("introspection of the id_token: %s, want {\"active\":false}", in.raw)
	}
	if !f.active(r.str("access_token")) {
		t.Error("the access token of the same sign-in is not active")
	}
}
