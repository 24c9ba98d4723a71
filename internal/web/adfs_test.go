package web_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// adfsAuthorizeURL is an authorization request at the AD FS–shaped
// authority; edit changes parameters ("" deletes).
func (e *env) adfsAuthorizeURL(clientID, redirect string, edit map[string]string) string {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid profile api://studies/Studies.Read"}, "state": {"st-adfs"}, "nonce": {"n-adfs"}}
	for k, v := range edit {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return e.ts.URL + "/adfs/oauth2/authorize?" + q.Encode()
}

// TestADFSAuthorize: /adfs/oauth2/authorize finds the tenant (the one that
// registers the client, else the user name's domain), runs the tenant's
// pages under /adfs/, and answers with iss {publicURL}/adfs (RFC 9207 §2),
// the issuer of /adfs's discovery document.
func TestADFSAuthorize(t *testing.T) {
	e := newEnv(t)
	if _, err := e.dir.CreateTenantWithAdmin(e.ctx, directory.TenantSpec{Domain: "fabrikam"}); err != nil {
		t.Fatal(err)
	}
	adfsIss := e.ts.URL + "/adfs"

	t.Run("a client registered in one tenant: that tenant, a bare user name is enough", func(t *testing.T) {
		b := e.browser()
		a := b.get(e.adfsAuthorizeURL(e.webApp.AppID, webRedirect, nil))
		if a.forms["signin"].action != "/adfs/login" {
			t.Fatalf("sign-in form posts to %q", a.forms["signin"].action)
		}
		a = b.signIn(a, "alice", password)
		if a.page != "consent" || a.forms["consent"].action != "/adfs/consent" {
			t.Fatalf("page %q, form %+v", a.page, a.forms["consent"])
		}
		q := e.mustRedirect(b.post(a, "consent", map[string]string{"decision": "accept"}), webRedirect)
		if q.Get("iss") != adfsIss || q.Get("state") != "st-adfs" {
			t.Errorf("answer %v", q)
		}
		if _, _, err := e.sessions.RedeemCode(e.ctx, e.tenant.ID, q.Get("code")); err != nil {
			t.Errorf("the code is contoso's: %v", err)
		}
	})

	t.Run("the CLI's client, registered everywhere: the user name's domain decides", func(t *testing.T) {
		_, challenge := pkce()
		u := e.adfsAuthorizeURL(directory.CLIClientID, "http://localhost:61234", map[string]string{
			"scope": "openid profile offline_access", "code_challenge": challenge, "code_challenge_method": "S256"})
		b := e.browser()
		a := b.signIn(b.get(u), "alice", password)
		if a.page != "signin" || a.message() == "" {
			t.Fatalf("a bare name cannot decide the tenant here: page %q %q", a.page, a.message())
		}
		q := e.mustRedirect(b.signIn(a, "alice@contoso", password), "http://localhost:61234")
		if q.Get("iss") != adfsIss {
			t.Errorf("iss %q", q.Get("iss"))
		}
		if tid, ok := session.TenantOf(q.Get("code")); !ok || tid != e.tenant.ID {
			t.Errorf("code of tenant %q", tid)
		}
	})

	t.Run("resource is read as v1 reads it (ADAL, AD FS)", func(t *testing.T) {
		b := e.browser()
		a := b.signIn(b.get(e.adfsAuthorizeURL(e.webApp.AppID, webRedirect, map[string]string{"scope": "openid", "resource": "api://studies"})), "alice", password)
		if a.page == "consent" {
			a = b.post(a, "consent", map[string]string{"decision": "accept"})
		}
		q := e.mustRedirect(a, webRedirect)
		c, err := e.sessions.LookupCode(e.ctx, e.tenant.ID, q.Get("code"))
		if err != nil || !slices.Contains(c.Scopes, "api://studies/Studies.Read") {
			t.Errorf("code scopes %v (%v)", c.Scopes, err)
		}
	})
}

// TestADFSLogout: /adfs/oauth2/logout ends the browser's sessions as
// /common/'s does, and accepts an ID token issued through /adfs as
// id_token_hint.
func TestADFSLogout(t *testing.T) {
	e := newEnv(t)
	b, g, _ := e.signedIn()
	id := token.IDTokenClaims(token.IDTokenParams{Version: 2, IssuerBase: e.ts.URL, TenantID: e.tenant.ID, ClientID: e.webApp.AppID,
		UserID: e.user.ObjectID, GrantID: g.ID, IssuedAt: e.clock.Now(), Lifetime: time.Hour})
	id.Issuer = e.ts.URL + "/adfs"
	hint, err := e.keys.Sign(id)
	if err != nil {
		t.Fatal(err)
	}
	a := b.get(e.ts.URL + "/adfs/oauth2/logout?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webRedirect}, "state": {"bye"}}.Encode())
	if q := e.mustRedirect(a, webRedirect); q.Get("state") != "bye" {
		t.Errorf("post-logout redirect %v", a.location)
	}
	if _, err := e.sessions.ActiveGrant(e.ctx, e.tenant.ID, g.ID); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("grant after logout: %v, want revoked", err)
	}
	if b.ssoCookie() != "" {
		t.Error("the SSO cookie survived logout")
	}
}
