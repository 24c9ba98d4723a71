package oauth_test

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// tokensFor signs alice in to the public client and redeems the code.
func (f *fixture) tokensFor(scope string) (response, string) {
	f.t.Helper()
	verifier, challenge := pkce()
	code, g := f.signIn(f.public.AppID, publicRedirect, scope, challenge, "")
	r := f.token(f.redeem(f.public.AppID, code, publicRedirect, verifier))
	if r.status != 200 {
		f.t.Fatalf("%d %s", r.status, r.raw)
	}
	return r, g.ID
}

func (f *fixture) refresh(clientID, rt string, extra url.Values) response {
	f.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return f.token(form)
}

func (f *fixture) setPolicy(p directory.TenantPolicy) {
	f.t.Helper()
	must(f.dir.SetTenantPolicy(f.ctx, f.tenant.ID, p))
}

// TestRefreshRotation: RFC 9700 §4.14.2 — every refresh returns a new
// refresh token; the old one fails after the grace window, and presenting
// it then revokes the grant with the newest token.
func TestRefreshRotation(t *testing.T) {
	f := newFixture(t)
	first, sid := f.tokensFor(fullScope)
	rt1 := first.str("refresh_token")
	second := f.refresh(f.public.AppID, rt1, nil)
	if second.status != 200 {
		t.Fatalf("%d %s", second.status, second.raw)
	}
	rt2 := second.str("refresh_token")
	if rt2 == "" || rt2 == rt1 || second.str("access_token") == first.str("access_token") {
		t.Fatal("the refresh did not rotate")
	}
	at := claims(t, second.str("access_token"))
	if at["sid"] != sid || at["scp"] != "read" || at["aud"] != f.api.AppID {
		t.Errorf("refreshed token %v", at)
	}
	if second.str("id_token") == "" || second.str("scope") != "api://studies/read openid profile email offline_access" {
		t.Errorf("scope %q id_token %v", second.str("scope"), second.str("id_token") != "")
	}

	// Within grace (5 s by default) the same token gets the very same
	// answer: a client retrying a lost response is not punished.
	f.clock.Advance(2 * time.Second)
	if again := f.refresh(f.public.AppID, rt1, nil); again.status != 200 || !bytes.Equal(again.raw, second.raw) {
		t.Fatalf("retry within grace: %d, same bytes %v", again.status, bytes.Equal(again.raw, second.raw))
	}
	// After it, the reuse revokes the grant: the newest token fails too.
	f.clock.Advance(10 * time.Second)
	wantError(t, f.refresh(f.public.AppID, rt1, nil), 400, "invalid_grant", 50173)
	if f.grantActive(sid) {
		t.Fatal("reuse did not revoke the grant")
	}
	wantError(t, f.refresh(f.public.AppID, rt2, nil), 400, "invalid_grant", 50173)
}

// TestRefreshGraceOff: with the grace window off, any second use of a
// rotated token is a reuse.
func TestRefreshGraceOff(t *testing.T) {
	f := newFixture(t)
	f.setPolicy(directory.TenantPolicy{RefreshGrace: -1})
	first, sid := f.tokensFor(fullScope)
	if r := f.refresh(f.public.AppID, first.str("refresh_token"), nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	wantError(t, f.refresh(f.public.AppID, first.str("refresh_token"), nil), 400, "invalid_grant", 50173)
	if f.grantActive(sid) {
		t.Error("reuse without grace did not revoke the grant")
	}
}

func TestRefreshErrors(t *testing.T) {
	f := newFixture(t)
	t.Run("RFC 6749 §6: a token of another client changes nothing", func(t *testing.T) {
		first, sid := f.tokensFor(fullScope)
		r := f.refresh(f.conf.AppID, first.str("refresh_token"), url.Values{"client_secret": {f.confSecret}})
		wantError(t, r, 400, "invalid_grant", 9002313)
		if !f.grantActive(sid) {
			t.Fatal("another client's attempt ended the owner's grant")
		}
		if r := f.refresh(f.public.AppID, first.str("refresh_token"), nil); r.status != 200 {
			t.Errorf("the owner's token stopped working: %d %s", r.status, r.raw)
		}
	})
	t.Run("RFC 6749 §5.2: unknown refresh token", func(t *testing.T) {
		wantError(t, f.refresh(f.public.AppID, "trt_"+f.tenant.ID+".nope", nil), 400, "invalid_grant", 0)
		wantError(t, f.refresh(f.public.AppID, "garbage", nil), 400, "invalid_grant", 9002313)
	})
	t.Run("RFC 6749 §6: expired by inactivity", func(t *testing.T) {
		f.setPolicy(directory.TenantPolicy{RefreshTokenInactivity: time.Hour})
		defer f.setPolicy(directory.TenantPolicy{})
		first, _ := f.tokensFor(fullScope)
		f.clock.Advance(2 * time.Hour)
		wantError(t, f.refresh(f.public.AppID, first.str("refresh_token"), nil), 400, "invalid_grant", 700082)
	})
	t.Run("RFC 6749 §6: refresh_token missing", func(t *testing.T) {
		wantError(t, f.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {f.public.AppID}}), 400, "invalid_request", 900144)
	})
}

// TestRefreshForAnotherResource: one refresh token serves every resource
// the user consented to, as in Entra; a resource without consent needs
// the user (consent_required) and leaves the token usable.
func TestRefreshForAnotherResource(t *testing.T) {
	f := newFixture(t)
	first, sid := f.tokensFor(fullScope)
	rt := first.str("refresh_token")
	r := f.refresh(f.public.AppID, rt, url.Values{"scope": {"https://legacy.example/api/user_impersonation openid offline_access"}})
	wantError(t, r, 400, "invalid_grant", 65001)
	if r.str("suberror") != "consent_required" {
		t.Errorf("suberror %q", r.str("suberror"))
	}
	// An admin consents for everyone: now the same token is good for it.
	q := must(f.dir.ParseScopes(f.ctx, f.tenant.ID, "https://legacy.example/api/user_impersonation", ""))
	check(t, f.dir.Consent(f.ctx, f.tenant.ID, f.public.AppID, directory.AllPrincipals, q))
	r = f.refresh(f.public.AppID, rt, url.Values{"scope": {"https://legacy.example/api/user_impersonation openid offline_access"}})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	at := claims(t, r.str("access_token"))
	if at["aud"] != "https://legacy.example/api" || at["scp"] != "user_impersonation" || at["sid"] != sid || at["ver"] != "1.0" {
		t.Errorf("token for the other resource: %v", at)
	}
	// .default of the first resource: what the grant holds.
	r = f.refresh(f.public.AppID, r.str("refresh_token"), url.Values{"scope": {"api://studies/.default"}})
	if r.status != 200 || claims(t, r.str("access_token"))["scp"] != "read" || r.str("id_token") != "" {
		t.Fatalf(".default: %d %s", r.status, r.raw)
	}
	// v1: the resource parameter.
	r = f.post("/"+f.tenant.ID+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {f.public.AppID},
		"refresh_token": {r.str("refresh_token")}, "resource": {"https://legacy.example/api"}})
	if r.status != 200 || r.str("resource") != "https://legacy.example/api" || claims(t, r.str("access_token"))["aud"] != "https://legacy.example/api" {
		t.Fatalf("v1 refresh: %d %s", r.status, r.raw)
	}
}

// TestRefreshAfterUserDisabled: disabling a user revokes their grants.
func TestRefreshAfterUserDisabled(t *testing.T) {
	f := newFixture(t)
	first, _ := f.tokensFor(fullScope)
	must(f.dir.SetUserEnabled(f.ctx, f.tenant.ID, f.user.ObjectID, false))
	wantError(t, f.refresh(f.public.AppID, first.str("refresh_token"), nil), 400, "invalid_grant", 50173)
}
