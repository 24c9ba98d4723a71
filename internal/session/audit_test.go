package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/session"
)

// withAudit gives e's service an audit recorder over its store.
func withAudit(t *testing.T, e *env) *audit.Recorder {
	t.Helper()
	rec := audit.NewRecorder(e.store, audit.Options{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return e.now }})
	t.Cleanup(func() { rec.Close(context.Background()) })
	e.svc = session.NewService(e.store, e.keys, e.keys, session.Options{Now: func() time.Time { return e.now },
		FeedRetention: 25 * time.Hour, Audit: rec})
	return rec
}

// Every revocation is in the audit log with what it revoked, and the
// routine revocation of a rotated pair's access token is not: the refresh
// is recorded as a token issued. An access token's id is kept only as a
// hash.
func TestRevocationsAreAudited(t *testing.T) {
	e := newEnv(t)
	rec := withAudit(t, e)
	ctx := context.Background()

	// A replayed code (RFC 6749 §4.1.2).
	g1 := e.grant(t, "")
	code, err := e.svc.IssueCode(ctx, e.tenant, session.Code{GrantID: g1.ID, ClientID: e.client}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.RedeemCode(ctx, e.tenant, code)
	if _, _, err := e.svc.RedeemCode(ctx, e.tenant, code); !errors.Is(err, session.ErrUsed) {
		t.Fatal(err)
	}
	// A rotation, then a reuse (RFC 9700 §4.14.2).
	g2 := e.grant(t, "")
	rt0, err := e.svc.IssueRefreshToken(ctx, e.tenant, g2, time.Hour, session.IssuedToken{Audience: "api://one", ID: "jti-0"}, e.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, _, err := e.svc.Refresh(ctx, e.tenant, rt0, e.client, time.Hour, 0, minter(&n)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Refresh(ctx, e.tenant, rt0, e.client, time.Hour, 0, minter(&n)); !errors.Is(err, session.ErrReuse) {
		t.Fatal(err)
	}
	// RFC 7009 on an access token; a user and a client cut off; a logout.
	must(t, e.svc.RevokeToken(ctx, e.tenant, "jti-secret-ish", e.now.Add(time.Hour)))
	must(t, e.svc.RevokeUser(ctx, e.tenant, e.user))
	must(t, e.svc.RevokeClient(ctx, e.tenant, e.client))
	cookie, bs, err := e.svc.StartBrowserSession(ctx, e.tenant, e.user, e.now, time.Hour)
	must(t, err)
	g3 := e.grant(t, bs.ID)
	if _, err := e.svc.EndBrowserSession(ctx, e.tenant, cookie); err != nil {
		t.Fatal(err)
	}

	page, err := rec.List(ctx, e.tenant, audit.Query{Kind: "revocation", Limit: 100})
	must(t, err)
	got := map[string]string{}
	for _, ev := range page.Events {
		got[ev.Kind] += ev.Target + " "
	}
	want := map[string]string{
		audit.RevokeCodeReplayed: g1.ID,
		audit.RevokeReuse:        g2.ID,
		audit.RevokeUser:         e.user,
		audit.RevokeClient:       e.client,
		audit.RevokeLogout:       g3.ID,
	}
	for kind, target := range want {
		if strings.TrimSpace(got[kind]) != target {
			t.Errorf("%s: targets %q, want %q", kind, got[kind], target)
		}
	}
	if tok := strings.TrimSpace(got[audit.RevokeToken]); !strings.HasPrefix(tok, "sha256:") || strings.Contains(tok, " ") {
		t.Errorf("revocation.token targets %q: want one, a hash (the rotation's own is not recorded)", tok)
	}
	raw, _ := json.Marshal(page)
	for _, s := range []string{"jti-secret-ish", "jti-0", rt0, code, cookie} {
		if strings.Contains(string(raw), s) {
			t.Errorf("the audit log holds %q", s[:min(len(s), 8)])
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
