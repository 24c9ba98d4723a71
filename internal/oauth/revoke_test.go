package oauth_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func (f *fixture) revoke(form url.Values) response {
	f.t.Helper()
	return f.post("/"+f.tenant.ID+"/oauth2/v2.0/revoke", form)
}

// introspect asks as the confidential client, a resource server with its
// own credentials.
func (f *fixture) introspect(tok string) response {
	f.t.Helper()
	r := f.post("/"+f.tenant.ID+"/oauth2/v2.0/introspect", url.Values{"client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "token": {tok}})
	if r.status != 200 {
		f.t.Fatalf("introspect: %d %s", r.status, r.raw)
	}
	return r
}

func (f *fixture) active(tok string) bool {
	f.t.Helper()
	return f.introspect(tok).body["active"] == true
}

// TestRevokeRefreshToken: RFC 7009 §2.1 — revoking a refresh token
// revokes its grant, and with it the access tokens issued from it.
func TestRevokeRefreshToken(t *testing.T) {
	f := newFixture(t)
	r, sid := f.tokensFor(fullScope)
	at, rt := r.str("access_token"), r.str("refresh_token")
	in := f.introspect(at)
	want := map[string]any{"active": true, "scope": "read", "client_id": f.public.AppID, "username": "alice@contoso", "token_type": "Bearer",
		"sub": f.user.ObjectID, "aud": f.api.AppID, "iss": f.srv.URL + "/" + f.tenant.ID + "/v2.0", "tid": f.tenant.ID, "sid": sid}
	for k, v := range want {
		if in.body[k] != v {
			t.Errorf("introspection %s = %v, want %v", k, in.body[k], v)
		}
	}
	for _, k := range []string{"exp", "iat", "nbf", "jti", "roles"} {
		if in.body[k] == nil {
			t.Errorf("introspection lacks %s", k)
		}
	}
	// A refresh token is introspected only by its own client.
	if f.active(rt) {
		t.Error("another client learned about a refresh token")
	}
	own := f.post("/"+f.tenant.ID+"/oauth2/v2.0/introspect", url.Values{"client_id": {f.public.AppID}, "token": {rt}})
	wantError(t, own, 401, "invalid_client", 7000218) // introspection needs credentials (RFC 7662 §2.1)

	res := f.revoke(url.Values{"client_id": {f.public.AppID}, "token": {rt}, "token_type_hint": {"refresh_token"}})
	if res.status != 200 || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("revoke: %d %s", res.status, res.raw)
	}
	if f.grantActive(sid) || f.active(at) {
		t.Error("the grant or its access token survived the revocation")
	}
	wantError(t, f.refresh(f.public.AppID, rt, nil), 400, "invalid_grant", 50173)
}

// TestRevokeAccessToken: an access token of a grant revokes the grant; an
// app-only token goes on the feed by its jti. Unknown tokens and other
// clients' get 200 and change nothing (RFC 7009 §2.2).
func TestRevokeAccessToken(t *testing.T) {
	f := newFixture(t)
	r, sid := f.tokensFor(fullScope)
	at := r.str("access_token")
	for _, form := range []url.Values{
		{"client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "token": {at}}, // another client's
		{"client_id": {f.public.AppID}, "token": {"not a token"}},
		{"client_id": {f.public.AppID}, "token": {at + "x"}},
		{"client_id": {f.public.AppID}, "token": {"trt_" + strings.Repeat("0", 32) + ".x"}},
	} {
		if res := f.revoke(form); res.status != 200 {
			t.Errorf("revoke %v: %d %s", form, res.status, res.raw)
		}
	}
	if !f.grantActive(sid) || !f.active(at) {
		t.Fatal("a refused revocation changed something")
	}
	if res := f.revoke(url.Values{"client_id": {f.public.AppID}, "token": {at}}); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.raw)
	}
	if f.grantActive(sid) || f.active(at) {
		t.Error("revoking the access token left its grant active")
	}

	// App-only: by jti, on the feed.
	cc := f.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "scope": {"api://studies/.default"}})
	app := cc.str("access_token")
	if !f.active(app) {
		t.Fatal("a fresh app token is inactive")
	}
	f.revoke(url.Values{"client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "token": {app}})
	if f.active(app) {
		t.Error("a revoked app token is still active")
	}
	feed := f.get("/" + f.tenant.ID + "/oauth2/v2.0/revocations")
	if !strings.Contains(string(feed.raw), `"kind":"jti","value":"`+claims(t, app)["jti"].(string)+`"`) {
		t.Errorf("the feed lacks the app token's jti: %s", feed.raw)
	}
	wantError(t, f.revoke(url.Values{"client_id": {f.public.AppID}}), 400, "invalid_request", 900144)
}

// TestIntrospectionFollowsTheFeed: RFC 7662 §2.2 — a token is inactive
// once its user or its client is revoked, or it has expired.
func TestIntrospectionFollowsTheFeed(t *testing.T) {
	f := newFixture(t)
	r, _ := f.tokensFor(fullScope)
	at := r.str("access_token")
	cc := f.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "scope": {"api://studies/.default"}})
	app := cc.str("access_token")
	in := f.introspect(app)
	if in.body["active"] != true || in.body["username"] != nil || in.body["sid"] != nil {
		t.Errorf("app token introspection %s", in.raw)
	}
	check(t, f.sess.RevokeClient(f.ctx, f.tenant.ID, f.conf.AppID))
	if f.active(app) {
		t.Error("a token of a revoked client is active")
	}
	if !f.active(at) {
		t.Error("revoking one client made another's token inactive")
	}
	must(f.dir.SetUserEnabled(f.ctx, f.tenant.ID, f.user.ObjectID, false))
	if f.active(at) {
		t.Error("a disabled user's token is active")
	}
	if in := f.introspect("nonsense"); string(in.raw) != `{"active":false}` {
		t.Errorf("inactive answer %s, want only active:false", in.raw)
	}
}

func TestIntrospectionExpiryAndIssuer(t *testing.T) {
	f := newFixture(t)
	r, _ := f.tokensFor(fullScope)
	other, _ := newFixture(t).tokensFor(fullScope)
	if f.active(other.str("access_token")) {
		t.Error("another issuer's token is active")
	}
	f.clock.Advance(time.Hour + 2*time.Minute) // lifetime plus skew
	if f.active(r.str("access_token")) {
		t.Error("an expired token is active")
	}
}

// TestRevocationFeedPaging: the guard's cursor protocol.
func TestRevocationFeedPaging(t *testing.T) {
	f := newFixture(t)
	exp := f.clock.Now().Add(time.Hour)
	for i := range 5 {
		check(t, f.sess.RevokeToken(f.ctx, f.tenant.ID, fmt.Sprintf("jti-%d", i), exp))
	}
	type entry struct {
		Seq       int64  `json:"seq"`
		Kind      string `json:"kind"`
		Value     string `json:"value"`
		RevokedAt string `json:"revokedAt"`
		ExpiresAt string `json:"expiresAt"`
	}
	var page struct {
		Revocations []entry `json:"revocations"`
		Next        *int64  `json:"next"`
	}
	var seen []string
	after := int64(0)
	for range 4 {
		r := f.get(fmt.Sprintf("/contoso/oauth2/v2.0/revocations?after=%d&limit=2", after))
		if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %s %v", r.status, r.raw, r.header)
		}
		page.Revocations, page.Next = nil, nil
		if err := json.Unmarshal(r.raw, &page); err != nil || page.Next == nil || page.Revocations == nil {
			t.Fatalf("page %s", r.raw)
		}
		if len(page.Revocations) > 2 {
			t.Fatalf("limit 2 gave %d", len(page.Revocations))
		}
		for _, e := range page.Revocations {
			if e.Seq <= after || e.Kind != "jti" {
				t.Errorf("entry %+v after %d", e, after)
			}
			for _, ts := range []string{e.RevokedAt, e.ExpiresAt} {
				if _, err := time.Parse(time.RFC3339, ts); err != nil {
					t.Errorf("time %q: %v", ts, err)
				}
			}
			seen = append(seen, e.Value)
		}
		if len(page.Revocations) == 0 && *page.Next != after {
			t.Errorf("empty page moved the cursor from %d to %d", after, *page.Next)
		}
		after = *page.Next
	}
	if strings.Join(seen, ",") != "jti-0,jti-1,jti-2,jti-3,jti-4" {
		t.Errorf("entries %v", seen)
	}
	for _, q := range []string{"limit=0", "limit=x", "after=-1"} {
		wantError(t, f.get("/contoso/oauth2/v2.0/revocations?"+q), 400, "invalid_request", 0)
	}
	if r := f.get("/contoso/oauth2/v2.0/revocations?limit=100000"); r.status != 200 {
		t.Errorf("a large limit is capped, not refused: %d", r.status)
	}
	// Entries leave the feed when every token they concern has expired.
	f.clock.Advance(2 * time.Hour)
	if r := f.get("/contoso/oauth2/v2.0/revocations"); string(r.raw) != `{"revocations":[],"next":0}` {
		t.Errorf("after expiry: %s", r.raw)
	}
}

// TestUserRevocationOnTheFeed: disabling a user puts an oid entry and the
// sid of every grant on the feed.
func TestUserRevocationOnTheFeed(t *testing.T) {
	f := newFixture(t)
	_, sid := f.tokensFor(fullScope)
	must(f.dir.SetUserEnabled(f.ctx, f.tenant.ID, f.user.ObjectID, false))
	raw := string(f.get("/" + f.tenant.ID + "/oauth2/v2.0/revocations").raw)
	for _, want := range []string{`"kind":"oid","value":"` + f.user.ObjectID + `"`, `"kind":"sid","value":"` + sid + `"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("feed lacks %s: %s", want, raw)
		}
	}
}
