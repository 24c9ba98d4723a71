package oauth_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

func (f *fixture) ropc(username, pw, scope string) url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {f.public.AppID}, "username": {username}, "password": {pw}, "scope": {scope}}
}

func TestPasswordGrant(t *testing.T) {
	f := newFixture(t)
	r := f.token(f.ropc("alice", password, "api://studies/read openid offline_access"))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	at := claims(t, r.str("access_token"))
	sid, _ := at["sid"].(string)
	if at["aud"] != f.api.AppID || at["scp"] != "read" || sid == "" || !f.grantActive(sid) {
		t.Errorf("access token %v", at)
	}
	if r.str("refresh_token") == "" || r.str("id_token") == "" {
		t.Error("no refresh or id token")
	}
	// The grant made for the sign-in backs the refresh token.
	if rr := f.refresh(f.public.AppID, r.str("refresh_token"), nil); rr.status != 200 || claims(t, rr.str("access_token"))["sid"] != sid {
		t.Errorf("refresh of a password grant: %d %s", rr.status, rr.raw)
	}
	// /organizations/ finds the tenant from the username's domain.
	r = f.post("/organizations/oauth2/v2.0/token", f.ropc("alice@contoso", password, "api://studies/read"))
	if r.status != 200 || claims(t, r.str("access_token"))["tid"] != f.tenant.ID {
		t.Fatalf("/organizations/: %d %s", r.status, r.raw)
	}
	wantError(t, f.post("/organizations/oauth2/v2.0/token", f.ropc("alice", password, "api://studies/read")), 400, "invalid_request", 90099)
}

var volatileParts = regexp.MustCompile(`(Trace ID|Correlation ID|Timestamp): [^\r\n]*`)

func TestPasswordGrantErrors(t *testing.T) {
	f := newFixture(t)
	t.Run("RFC 6749 §5.2: unknown user and wrong password read the same", func(t *testing.T) {
		wrong := f.token(f.ropc("alice", "not the password at all", "api://studies/read"))
		unknown := f.token(f.ropc("mallory", password, "api://studies/read"))
		wantError(t, wrong, 400, "invalid_grant", 50126)
		wantError(t, unknown, 400, "invalid_grant", 50126)
		if a, b := volatileParts.ReplaceAllString(wrong.str("error_description"), ""), volatileParts.ReplaceAllString(unknown.str("error_description"), ""); a != b {
			t.Errorf("descriptions differ:\n%q\n%q", a, b)
		}
		// A success resets the failure count, so the next test starts clean.
		f.clock.Advance(time.Minute)
		if r := f.token(f.ropc("alice", password, "api://studies/read")); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("RFC 6749 §5.2: scope without consent is consent_required", func(t *testing.T) {
		r := f.token(f.ropc("alice", password, "api://studies/write"))
		wantError(t, r, 400, "invalid_grant", 65001)
		if r.str("suberror") != "consent_required" {
			t.Errorf("suberror %q", r.str("suberror"))
		}
	})
	t.Run("RFC 6749 §5.2: unknown scope", func(t *testing.T) {
		wantError(t, f.token(f.ropc("alice", password, "api://studies/delete")), 400, "invalid_scope", 0)
	})
	t.Run("RFC 6749 §2.3.1: a confidential client must authenticate", func(t *testing.T) {
		form := f.ropc("alice", password, "api://studies/read")
		form.Set("client_id", f.conf.AppID)
		wantError(t, f.token(form), 401, "invalid_client", 7000218)
	})
	t.Run("RFC 6749 §5.2: disabled user", func(t *testing.T) {
		bob := must(f.dir.CreateUser(f.ctx, f.tenant.ID, directory.UserSpec{UserPrincipalName: "bob", Password: password, Disabled: true}))
		_ = bob
		wantError(t, f.token(f.ropc("bob", password, "openid")), 400, "invalid_grant", 50057)
	})
	t.Run("RFC 6749 §5.2: locked account, with the time", func(t *testing.T) {
		f.setPolicy(directory.TenantPolicy{LockoutThreshold: 3, LockoutDuration: 15 * time.Minute})
		defer f.setPolicy(directory.TenantPolicy{})
		must(f.dir.CreateUser(f.ctx, f.tenant.ID, directory.UserSpec{UserPrincipalName: "carol", Password: password}))
		var r response
		for range 3 {
			r = f.token(f.ropc("carol", "wrong wrong wrong", "openid"))
		}
		wantError(t, r, 400, "invalid_grant", 50053)
		until := f.clock.Now().Add(15 * time.Minute).UTC().Format(time.RFC3339)
		if !strings.Contains(r.str("error_description"), until) {
			t.Errorf("description %q lacks %s", r.str("error_description"), until)
		}
		// Locked: even the right password is refused, without checking it.
		wantError(t, f.token(f.ropc("carol", password, "openid")), 400, "invalid_grant", 50053)
	})
	t.Run("RFC 6749 §5.2: password grant disabled in the tenant", func(t *testing.T) {
		f.setPolicy(directory.TenantPolicy{PasswordGrantDisabled: true})
		defer f.setPolicy(directory.TenantPolicy{})
		wantError(t, f.token(f.ropc("alice", password, "openid")), 400, "unauthorized_client", 70003)
	})
}
