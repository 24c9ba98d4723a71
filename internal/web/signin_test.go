package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestSignInConsentCodeThenSingleSignOn walks the whole flow: sign-in,
// consent listing every permission, a code with state and iss; then a
// second authorize signs in from the cookie without any page.
func TestSignInConsentCodeThenSingleSignOn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := b.get(e.authorizeURL(map[string]string{"login_hint": "alice@contoso"}))
	if a.status != 200 || a.page != "signin" {
		t.Fatalf("status %d page %q", a.status, a.page)
	}
	if f := a.forms["signin"]; f.fields.Get("username") != "alice@contoso" || f.fields.Get("csrf_token") == "" || f.fields.Get("flow") == "" {
		t.Fatalf("sign-in form fields: %v", f.fields)
	}
	if !strings.Contains(a.body, "Studies Web") {
		t.Error("the sign-in page does not name the application")
	}
	a = b.signIn(a, "alice", password)
	if a.page != "consent" {
		t.Fatalf("after sign-in: page %q (%s)", a.page, a.message())
	}
	sso := b.ssoCookie()
	if !strings.HasPrefix(sso, "tbs_") {
		t.Fatalf("no SSO cookie after sign-in: %q", sso)
	}
	for _, want := range []string{"Studies Web", "Sign you in", "View your basic profile", "Read your studies",
		"Lets the app read the studies you can see.", "api://studies/Studies.Read", "openid", "profile", "alice@contoso"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the consent page lacks %q", want)
		}
	}
	a = b.post(a, "consent", map[string]string{"decision": "accept"})
	q := e.mustRedirect(a, webRedirect)
	if q.Get("state") != "st-123" || q.Get("iss") != e.ts.URL+"/"+e.tenant.ID+"/v2.0" || !strings.HasPrefix(q.Get("code"), "tac_") {
		t.Fatalf("success response %v", q)
	}
	c, g, err := e.sessions.RedeemCode(e.ctx, e.tenant.ID, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Nonce != "n-456" || c.ClientID != e.webApp.AppID || c.RedirectURI != webRedirect {
		t.Errorf("code %+v", c)
	}
	bs, err := e.sessions.BrowserSession(e.ctx, e.tenant.ID, sso)
	if err != nil {
		t.Fatal(err)
	}
	if g.UserID != e.user.ObjectID || g.BrowserSessionID != bs.ID || g.ClientID != e.webApp.AppID {
		t.Errorf("grant %+v", g)
	}

	// Single sign-on: the consented request returns a code at once.
	a = b.get(e.authorizeURL(map[string]string{"state": "second"}))
	q = e.mustRedirect(a, webRedirect)
	if q.Get("state") != "second" || q.Get("code") == "" {
		t.Fatalf("SSO response %v", q)
	}
	// prompt=none works the same with a session.
	q = e.mustRedirect(b.get(e.authorizeURL(map[string]string{"prompt": "none"})), webRedirect)
	if q.Get("code") == "" {
		t.Fatalf("prompt=none with a session: %v", q)
	}
	// prompt=login (OIDC Core §3.1.2.1) shows the form despite the session.
	a = b.get(e.authorizeURL(map[string]string{"prompt": "login"}))
	if a.page != "signin" {
		t.Fatalf("prompt=login: page %q location %v", a.page, a.location)
	}
	e.mustRedirect(b.signIn(a, "alice", password), webRedirect)
	// prompt=consent shows consent even though nothing is missing.
	a = b.get(e.authorizeURL(map[string]string{"prompt": "consent"}))
	if a.page != "consent" || !strings.Contains(a.body, "Read your studies") {
		t.Fatalf("prompt=consent: page %q location %v", a.page, a.location)
	}
	e.mustRedirect(b.post(a, "consent", map[string]string{"decision": "accept"}), webRedirect)
	// prompt=select_account: continue, or use another account.
	a = b.get(e.authorizeURL(map[string]string{"prompt": "select_account"}))
	if a.page != "select_account" || !strings.Contains(a.body, "alice@contoso") {
		t.Fatalf("prompt=select_account: page %q location %v", a.page, a.location)
	}
	e.mustRedirect(b.post(a, "select_account", map[string]string{"account": "continue"}), webRedirect)
	a = b.get(e.authorizeURL(map[string]string{"prompt": "select_account"}))
	if a = b.post(a, "select_account", map[string]string{"account": "other"}); a.page != "signin" {
		t.Fatalf("use another account: page %q", a.page)
	}
	// A login_hint naming someone else is not answered from the session.
	if a = b.get(e.authorizeURL(map[string]string{"login_hint": "bob@contoso"})); a.page != "signin" {
		t.Fatalf("login_hint of another user: page %q location %v", a.page, a.location)
	}
}

// TestConsentRules: prompt=none with missing consent is consent_required;
// Cancel is access_denied; pre-authorized and admin-consented scopes need
// no page.
func TestConsentRules(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := b.signIn(b.get(e.authorizeURL(nil)), "alice", password)
	if a.page != "consent" {
		t.Fatalf("page %q", a.page)
	}
	// The browser is signed in now, without consent given.
	q := e.mustRedirect(b.get(e.authorizeURL(map[string]string{"prompt": "none", "state": "pn"})), webRedirect)
	if q.Get("error") != "consent_required" || q.Get("state") != "pn" || q.Get("iss") == "" {
		t.Fatalf("prompt=none without consent: %v", q)
	}
	q = e.mustRedirect(b.post(a, "consent", map[string]string{"decision": "deny"}), webRedirect)
	if q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Has("code") {
		t.Fatalf("cancel: %v", q)
	}
	if _, missing, _ := e.dir.Permissions(e.ctx, e.tenant.ID, e.webApp, e.user.ObjectID, e.scopes("openid api://studies/Studies.Read")); missing.Empty() {
		t.Error("cancel recorded consent")
	}

	// Admin consent for everyone (OIDC) and pre-authorization (API): no page.
	if err := e.dir.Consent(e.ctx, e.tenant.ID, e.webApp.AppID, directory.AllPrincipals, e.scopes("openid profile")); err != nil {
		t.Fatal(err)
	}
	pre := []directory.PreAuthorizedApplication{{AppID: e.webApp.AppID, Scopes: []string{"Studies.Read"}}}
	if _, err := e.dir.UpdateApplication(e.ctx, e.tenant.ID, e.api.AppID, directory.ApplicationPatch{PreAuthorized: &pre}); err != nil {
		t.Fatal(err)
	}
	q = e.mustRedirect(b.get(e.authorizeURL(nil)), webRedirect)
	if q.Get("code") == "" {
		t.Fatalf("pre-authorized request: %v", q)
	}
}

func (e *env) scopes(s string) directory.ScopeRequest {
	e.t.Helper()
	q, err := e.dir.ParseScopes(e.ctx, e.tenant.ID, s, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return q
}

// TestSignInMessages: an unknown user and a wrong password read the same;
// a locked account says until when; a disabled one says so.
func TestSignInMessages(t *testing.T) {
	e := newEnv(t)
	if _, err := e.dir.SetTenantPolicy(e.ctx, e.tenant.ID, directory.TenantPolicy{LockoutThreshold: 2, LockoutDuration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	start := b.get(e.authorizeURL(nil))
	unknown := b.signIn(start, "mallory", password)
	wrong := b.signIn(start, "alice", "not the password")
	if unknown.page != "signin" || wrong.page != "signin" || unknown.message() == "" || unknown.message() != wrong.message() {
		t.Fatalf("unknown user %q (%s) vs wrong password %q (%s): want the same sign-in page message", unknown.message(), unknown.page, wrong.message(), wrong.page)
	}
	if wrong.forms["signin"].fields.Get("username") != "alice" || b.ssoCookie() != "" {
		t.Error("a failed sign-in lost the user name or set a session")
	}
	locked := b.signIn(wrong, "alice", "still not it")
	if !strings.Contains(locked.message(), "locked") || !strings.Contains(locked.message(), "Try again after") {
		t.Fatalf("second failure with threshold 2: %q", locked.message())
	}
	// Even the right password waits for the lock to end.
	if a := b.signIn(locked, "alice", password); !strings.Contains(a.message(), "locked") || b.ssoCookie() != "" {
		t.Fatalf("right password while locked: %q", a.message())
	}
	e.clock.Add(time.Hour + time.Second)
	if a := b.signIn(b.get(e.authorizeURL(nil)), "alice", password); a.page != "consent" {
		t.Fatalf("after the lock: page %q %q", a.page, a.message())
	}

	if _, err := e.dir.CreateUser(e.ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "dora", Password: password, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	b = e.browser()
	if a := b.signIn(b.get(e.authorizeURL(nil)), "dora", password); !strings.Contains(a.message(), "disabled") || b.ssoCookie() != "" {
		t.Fatalf("disabled user: %q", a.message())
	}
}

// TestFormsNeedTheirCSRFToken: a post without the right token is 403 and
// changes nothing: no session, no consent, no code.
func TestFormsNeedTheirCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	start := b.get(e.authorizeURL(nil))
	other := e.browser()
	otherPage := other.get(e.authorizeURL(nil))
	for name, set := range map[string]map[string]string{
		"no token":               {"csrf_token": "", "username": "alice", "password": password},
		"garbage token":          {"csrf_token": "AAAA", "username": "alice", "password": password},
		"another browser's":      {"csrf_token": otherPage.forms["signin"].fields.Get("csrf_token"), "username": "alice", "password": password},
		"another form's purpose": {"csrf_token": b.get(e.ts.URL + "/contoso/devicelogin").forms["device"].fields.Get("csrf_token"), "username": "alice", "password": password},
	} {
		a := b.post(start, "signin", set)
		if a.status != http.StatusForbidden || a.page != "error" || b.ssoCookie() != "" {
			t.Errorf("%s: status %d page %q, SSO cookie %q", name, a.status, a.page, b.ssoCookie())
		}
	}
	// Without the cookie the token is worth nothing either.
	nojar := e.browser()
	if a := nojar.post(start, "signin", map[string]string{"username": "alice", "password": password}); a.status != http.StatusForbidden {
		t.Errorf("token without its cookie: status %d", a.status)
	}
	q := e.mustRedirect(b.get(e.authorizeURL(map[string]string{"prompt": "none"})), webRedirect)
	if q.Get("error") != "login_required" {
		t.Fatalf("a refused sign-in started a session: %v", q)
	}

	consent := b.signIn(start, "alice", password)
	if a := b.post(consent, "consent", map[string]string{"decision": "accept", "csrf_token": start.forms["signin"].fields.Get("csrf_token")}); a.status != http.StatusForbidden || a.location != nil {
		t.Fatalf("consent with the sign-in form's token: status %d location %v", a.status, a.location)
	}
	if _, missing, _ := e.dir.Permissions(e.ctx, e.tenant.ID, e.webApp, e.user.ObjectID, e.scopes("openid api://studies/Studies.Read")); missing.Empty() {
		t.Error("a refused consent post recorded consent")
	}
}

// TestFlowIsSealed: the flow field cannot be edited, moved to another
// page, or used after ten minutes.
func TestFlowIsSealed(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	start := b.get(e.authorizeURL(nil))
	sealed := start.forms["signin"].fields.Get("flow")
	tampered := []byte(sealed)
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '.' || tampered[len(tampered)/2] == '/' {
		tampered[len(tampered)/2] = 'A'
	}
	if a := b.post(start, "signin", map[string]string{"flow": string(tampered), "username": "alice", "password": password}); a.status != 400 || a.page != "error" {
		t.Errorf("tampered flow: status %d page %q", a.status, a.page)
	}
	consent := b.signIn(start, "alice", password)
	// The sign-in page's flow posted as consent: refused before CSRF is
	// even the question, since the seal's purpose differs.
	moved := consent
	moved.forms = map[string]form{"consent": {action: consent.forms["consent"].action, fields: url.Values{
		"csrf_token": consent.forms["consent"].fields["csrf_token"], "flow": {sealed}, "decision": {"accept"}}}}
	if a := b.post(moved, "consent", nil); a.status != 400 || a.location != nil {
		t.Errorf("sign-in flow posted to consent: status %d location %v", a.status, a.location)
	}
	e.clock.Add(11 * time.Minute)
	if a := b.post(consent, "consent", map[string]string{"decision": "accept"}); a.status != 400 || a.page != "error" || a.location != nil {
		t.Errorf("expired flow: status %d page %q location %v", a.status, a.page, a.location)
	}
}

// TestMultiTenantEndpoints: on /common/ the user name decides the tenant,
// and domain_hint decides it before any page.
func TestMultiTenantEndpoints(t *testing.T) {
	e := newEnv(t)
	common := strings.Replace(e.authorizeURL(nil), "/contoso/", "/common/", 1)
	b := e.browser()
	a := b.get(common)
	if a.page != "signin" {
		t.Fatalf("common: page %q", a.page)
	}
	if m := b.signIn(a, "alice", password).message(); !strings.Contains(m, "full user name") {
		t.Errorf("bare name at common: %q", m)
	}
	if m := b.signIn(a, "alice@nowhere", password).message(); m != "Your user name or password is incorrect." {
		t.Errorf("unknown domain at common: %q", m)
	}
	a = b.signIn(a, "alice@contoso", password)
	a = b.post(a, "consent", map[string]string{"decision": "accept"})
	q := e.mustRedirect(a, webRedirect)
	if q.Get("code") == "" || q.Get("iss") != e.ts.URL+"/"+e.tenant.ID+"/v2.0" {
		t.Fatalf("common: %v", q)
	}
	// Signed in to one tenant: /organizations/ answers from its session.
	orgs := strings.Replace(e.authorizeURL(map[string]string{"state": "o"}), "/contoso/", "/organizations/", 1)
	if q = e.mustRedirect(b.get(orgs), webRedirect); q.Get("code") == "" || q.Get("state") != "o" {
		t.Fatalf("organizations with a session: %v", q)
	}
	hinted := strings.Replace(e.authorizeURL(map[string]string{"domain_hint": "contoso", "prompt": "none"}), "/contoso/", "/common/", 1)
	if q = e.mustRedirect(e.browser().get(hinted), webRedirect); q.Get("error") != "login_required" {
		t.Fatalf("domain_hint with prompt=none: %v", q)
	}
}

// On /organizations/ the person's tenant is known only once they type
// their name; a request that only one tenant could serve (its client, or
// the resource its scope names by application id, is that tenant's alone)
// and that tenant would refuse is refused before the sign-in page, as
// Entra does, not after the password.
func TestOrganizationsRefusesAnUnexposedScopeBeforeSignIn(t *testing.T) {
	e := newEnv(t)
	orgs := func(edit map[string]string) string {
		return strings.Replace(e.authorizeURL(edit), "/contoso/", "/organizations/", 1)
	}
	// The web app is registered by contoso alone.
	if q := e.mustRedirect(e.browser().get(orgs(map[string]string{"scope": "openid api://studies/Studies.Write"})), webRedirect); q.Get("error") != "invalid_scope" {
		t.Errorf("a scope the API does not expose: %v", q)
	}
	// The CLI's client is every tenant's; the API, named by its
	// application id as `az login --scope api://<APP_ID>/…` does, is
	// contoso's alone.
	_, challenge := pkce()
	cli := map[string]string{"client_id": directory.CLIClientID, "redirect_uri": "http://localhost:8400/",
		"code_challenge": challenge, "code_challenge_method": "S256"}
	cli["scope"] = "openid api://" + e.api.AppID + "/default"
	if q := e.mustRedirect(e.browser().get(orgs(cli)), "http://localhost:8400/"); q.Get("error") != "invalid_scope" {
		t.Errorf("az login --scope api://<APP_ID>/default, which the API does not expose: %v", q)
	}
	// What the tenant serves still goes to the sign-in page first.
	cli["scope"] = "openid api://" + e.api.AppID + "/Studies.Read"
	if a := e.browser().get(orgs(cli)); a.page != "signin" {
		t.Errorf("a valid request: page %q, status %d, location %v", a.page, a.status, a.location)
	}
	if a := e.browser().get(orgs(nil)); a.page != "signin" {
		t.Errorf("a valid request of the web app: page %q, status %d, location %v", a.page, a.status, a.location)
	}
	// A resource nobody registers decides nothing before sign-in.
	cli["scope"] = "openid api://" + "00000000-0000-0000-0000-00000000beef" + "/x"
	if a := e.browser().get(orgs(cli)); a.page != "signin" {
		t.Errorf("an unknown resource id: page %q, status %d", a.page, a.status)
	}
}
