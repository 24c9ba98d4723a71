package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tessera-id/tessera/internal/directory"
)

const alicePassword = "correct horse battery staple"

// userApps are the applications and the person of the user-grant tests.
type userApps struct {
	api      directory.Application // api://studies: scopes read, write; role Reader for users
	native   directory.Application // a public client with a loopback redirect
	redirect string
	alice    directory.User
}

func setupUserApps(t *testing.T, h *harness) userApps {
	t.Helper()
	ctx := context.Background()
	d, tid := h.srv.Directory, h.tenant()
	app := func(spec directory.ApplicationSpec) directory.Application {
		a, err := d.CreateApplication(ctx, tid, spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateServicePrincipal(ctx, tid, directory.ServicePrincipalSpec{AppID: a.AppID}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	u := userApps{redirect: "http://localhost:8400/callback"}
	u.api = app(directory.ApplicationSpec{DisplayName: "Studies API", IdentifierURIs: []string{"api://studies"},
		Scopes:   []directory.Scope{{Value: "read", Enabled: true}, {Value: "write", Enabled: true}},
		AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser}}}})
	u.native = app(directory.ApplicationSpec{DisplayName: "Studies desktop", PublicClient: true, RedirectURIs: []string{u.redirect}})
	var err error
	if u.alice, err = d.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "alice", DisplayName: "Alice", Mail: "alice@example.com", MailVerified: true, Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AssignRole(ctx, tid, directory.AssignmentSpec{Principal: u.alice.ObjectID, Resource: u.api.AppID, Role: "Reader"}); err != nil {
		t.Fatal(err)
	}
	return u
}

// adminConsent lets the native client use scope for every user, as an
// administrator would, so that grants without a user interface work.
func (u userApps) adminConsent(t *testing.T, h *harness, scope string) {
	t.Helper()
	ctx := context.Background()
	q, err := h.srv.Directory.ParseScopes(ctx, h.tenant(), scope, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Directory.Consent(ctx, h.tenant(), u.native.AppID, directory.AllPrincipals, q); err != nil {
		t.Fatal(err)
	}
}

func (u userApps) oauth2Config(h *harness) *oauth2.Config {
	base := h.srv.URL + "/" + h.tenant()
	return &oauth2.Config{
		ClientID:    u.native.AppID,
		RedirectURL: u.redirect,
		Scopes:      []string{"openid", "profile", "email", "offline_access", "api://studies/read"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/oauth2/v2.0/authorize", TokenURL: base + "/oauth2/v2.0/token",
			DeviceAuthURL: base + "/oauth2/v2.0/devicecode", AuthStyle: oauth2.AuthStyleInParams},
	}
}

func randomString(t *testing.T) string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signIn runs the authorization code flow with PKCE as a native app does
// with golang.org/x/oauth2: the browser part through the sign-in and
// consent pages, the code exchanged at the token endpoint.
func (u userApps) signIn(t *testing.T, h *harness, nonce string) *oauth2.Token {
	t.Helper()
	conf := u.oauth2Config(h)
	verifier, state := oauth2.GenerateVerifier(), randomString(t)
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	back := h.authorizeWithPassword(t, authURL, "alice", alicePassword)
	if got := back.Query().Get("state"); got != state {
		t.Fatalf("state %q, want %q (redirect %s)", got, state, back)
	}
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", back)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.http)
	// Without the verifier the code is refused (RFC 7636 §4.6), and the
	// refusal changes nothing: the same code still works with it.
	if _, err := conf.Exchange(ctx, code); err == nil {
		t.Fatal("the code was redeemed without its code_verifier")
	}
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func TestAuthorizationCodeEndToEnd(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	nonce := randomString(t)
	tok := u.signIn(t, h, nonce)

	ctx := oidc.ClientContext(context.Background(), h.http)
	provider, err := oidc.NewProvider(ctx, h.srv.URL+"/"+h.tenant()+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	id, err := provider.Verifier(&oidc.Config{ClientID: u.native.AppID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc refuses the id_token: %v", err)
	}
	if id.Nonce != nonce || id.Subject != u.alice.ObjectID {
		t.Errorf("id_token nonce %q sub %q", id.Nonce, id.Subject)
	}
	var idc struct {
		Email string `json:"email"`
		Name  string `json:"name"`
		SID   string `json:"sid"`
	}
	id.Claims(&idc)
	at := claimsOf(t, tok.AccessToken)
	if idc.Email != "alice@example.com" || idc.Name != "Alice" || idc.SID == "" || at["sid"] != idc.SID {
		t.Errorf("id_token claims %+v, access token sid %v", idc, at["sid"])
	}
	if at["aud"] != u.api.AppID || at["scp"] != "read" || at["azp"] != u.native.AppID || at["azpacr"] != "0" {
		t.Errorf("access token %v", at)
	}
	if roles, _ := at["roles"].([]any); len(roles) != 1 || roles[0] != "Reader" {
		t.Errorf("roles %v", at["roles"])
	}
	if tok.RefreshToken == "" || tok.Extra("scope") != "api://studies/read openid profile email offline_access" {
		t.Errorf("refresh token %q scope %v", tok.RefreshToken, tok.Extra("scope"))
	}
	// The token source refreshes with the refresh token when the access
	// token has expired.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := u.oauth2Config(h).TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, h.http), tok).Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh through x/oauth2: %v", err)
	}
	h.assertNotLogged(tok.AccessToken, tok.RefreshToken, rawID, fresh.RefreshToken, alicePassword)
}

// refreshForm is a refresh request of the native client.
func (u userApps) refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {u.native.AppID}, "refresh_token": {rt}}
}

// TestRefreshRotationEndToEnd: RFC 9700 §4.14.2 with the grace window
// off — the new token works, the old one fails, and presenting the old
// one revokes the family, newest included.
func TestRefreshRotationEndToEnd(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	if _, err := h.srv.Directory.SetTenantPolicy(context.Background(), h.tenant(), directory.TenantPolicy{RefreshGrace: -1}); err != nil {
		t.Fatal(err)
	}
	tok := u.signIn(t, h, "n")
	path := "/" + h.tenant() + "/oauth2/v2.0/token"
	status, body, _ := h.postForm(path, u.refreshForm(tok.RefreshToken), "", "")
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	rt2 := body["refresh_token"].(string)
	status, body, _ = h.postForm(path, u.refreshForm(rt2), "", "")
	if status != 200 {
		t.Fatalf("the new refresh token: %d %v", status, body)
	}
	rt3 := body["refresh_token"].(string)
	if status, body, _ = h.postForm(path, u.refreshForm(tok.RefreshToken), "", ""); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("the old refresh token: %d %v", status, body)
	}
	if status, body, _ = h.postForm(path, u.refreshForm(rt3), "", ""); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("the newest token survived a reuse: %d %v", status, body)
	}
	sid, _ := claimsOf(t, tok.AccessToken)["sid"].(string)
	if _, err := h.srv.Sessions.ActiveGrant(context.Background(), h.tenant(), sid); err == nil {
		t.Error("the grant is still active after a reuse")
	}
}

// redeemConcurrently presents one refresh token from n goroutines at once
// and returns every status and body.
func redeemConcurrently(t *testing.T, h *harness, form url.Values, n int) ([]int, [][]byte) {
	t.Helper()
	statuses, bodies := make([]int, n), make([][]byte, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", h.srv.URL+"/"+h.tenant()+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := h.http.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			statuses[i] = resp.StatusCode
			bodies[i], _ = io.ReadAll(resp.Body)
		}()
	}
	close(start)
	wg.Wait()
	// Twenty requests at once open connections that the transport then
	// keeps unused; the server waits for such new connections on shutdown.
	h.http.CloseIdleConnections()
	return statuses, bodies
}

// TestConcurrentRefresh: twenty goroutines redeem one refresh token at
// once. With the grace window on, every one gets the very same pair and
// one successor exists; with it off, one wins and nineteen are refused.
func TestConcurrentRefresh(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	ctx := context.Background()
	path := "/" + h.tenant() + "/oauth2/v2.0/token"

	t.Run("grace on", func(t *testing.T) {
		if _, err := h.srv.Directory.SetTenantPolicy(ctx, h.tenant(), directory.TenantPolicy{RefreshGrace: time.Minute}); err != nil {
			t.Fatal(err)
		}
		tok := u.signIn(t, h, "n")
		statuses, bodies := redeemConcurrently(t, h, u.refreshForm(tok.RefreshToken), 20)
		for i := range statuses {
			if statuses[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) {
				t.Fatalf("answer %d: %d, same as the first: %v\n%s", i, statuses[i], bytes.Equal(bodies[i], bodies[0]), bodies[i])
			}
		}
		var pair struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		json.Unmarshal(bodies[0], &pair)
		// One successor: it rotates once more, and the family is whole.
		status, body, _ := h.postForm(path, u.refreshForm(pair.RefreshToken), "", "")
		if status != 200 {
			t.Fatalf("the successor: %d %v", status, body)
		}
		// The old token, within grace, still answers with that one pair.
		status, replay, _ := h.postForm(path, u.refreshForm(tok.RefreshToken), "", "")
		if status != 200 || replay["refresh_token"] != pair.RefreshToken || replay["access_token"] != pair.AccessToken {
			t.Errorf("replay within grace: %d, same pair %v", status, replay["refresh_token"] == pair.RefreshToken)
		}
	})
	t.Run("grace off", func(t *testing.T) {
		if _, err := h.srv.Directory.SetTenantPolicy(ctx, h.tenant(), directory.TenantPolicy{RefreshGrace: -1}); err != nil {
			t.Fatal(err)
		}
		tok := u.signIn(t, h, "n")
		statuses, bodies := redeemConcurrently(t, h, u.refreshForm(tok.RefreshToken), 20)
		ok, refused := 0, 0
		for i, s := range statuses {
			var e struct {
				Error string `json:"error"`
			}
			json.Unmarshal(bodies[i], &e)
			switch {
			case s == 200:
				ok++
			case s == 400 && e.Error == "invalid_grant":
				refused++
			default:
				t.Errorf("answer %d: %d %s", i, s, bodies[i])
			}
		}
		if ok != 1 || refused != 19 {
			t.Errorf("%d succeeded and %d were refused, want 1 and 19", ok, refused)
		}
	})
}

// TestDeviceCodeEndToEnd: RFC 8628 with golang.org/x/oauth2's device flow:
// one goroutine polls at the interval the server asks (and slows down
// when told) while a person approves in a browser.
func TestDeviceCodeEndToEnd(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	conf := u.oauth2Config(h)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.http)
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURI != h.srv.URL+"/"+h.tenant()+"/devicelogin" || da.Interval != 5 || da.UserCode == "" {
		t.Fatalf("device authorization %+v", da)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		// DeviceAccessToken polls every Interval seconds, adds 5 on
		// slow_down, and keeps on through authorization_pending.
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		tok, err := conf.DeviceAccessToken(pctx, da)
		done <- result{tok, err}
	}()
	h.approveDevice(t, da.UserCode, "alice", alicePassword)
	res := <-done
	if res.err != nil {
		t.Fatalf("polling: %v", res.err)
	}
	at := claimsOf(t, res.tok.AccessToken)
	if at["aud"] != u.api.AppID || at["oid"] != u.alice.ObjectID || res.tok.RefreshToken == "" {
		t.Errorf("device tokens: %v", at)
	}
	// The device code is spent.
	status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {u.native.AppID}, "device_code": {da.DeviceCode}}, "", "")
	if status != 400 || body["error"] != "expired_token" && body["error"] != "slow_down" {
		t.Errorf("a spent device code: %d %v", status, body)
	}
}

// TestPasswordGrantEndToEnd: ROPC through golang.org/x/oauth2, at the
// tenant's endpoint and at /organizations/; refused when the tenant turns
// it off.
func TestPasswordGrantEndToEnd(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	u.adminConsent(t, h, "openid profile offline_access api://studies/read")
	conf := u.oauth2Config(h)
	conf.Scopes = []string{"openid", "offline_access", "api://studies/read"}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.http)
	tok, err := conf.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	if at := claimsOf(t, tok.AccessToken); at["scp"] != "read" || at["sid"] == nil || tok.RefreshToken == "" {
		t.Errorf("ROPC token %v", at)
	}
	org := *conf
	org.Endpoint.TokenURL = h.srv.URL + "/organizations/oauth2/v2.0/token"
	if _, err := org.PasswordCredentialsToken(ctx, "alice@default", alicePassword); err != nil {
		t.Errorf("/organizations/: %v", err)
	}
	_, err = conf.PasswordCredentialsToken(ctx, "alice", "not the password")
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := h.srv.Directory.SetTenantPolicy(context.Background(), h.tenant(), directory.TenantPolicy{PasswordGrantDisabled: true}); err != nil {
		t.Fatal(err)
	}
	_, err = conf.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if !errors.As(err, &re) || re.ErrorCode != "unauthorized_client" {
		t.Errorf("ROPC disabled: %v", err)
	}
	h.assertNotLogged(alicePassword, tok.AccessToken, tok.RefreshToken)
}

// TestRevocationEndToEnd: RFC 7009 revocation of a refresh token ends the
// sign-in: its access token goes inactive at introspection (RFC 7662) and
// its sid appears on the revocation feed.
func TestRevocationEndToEnd(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	tok := u.signIn(t, h, "n")
	sid := claimsOf(t, tok.AccessToken)["sid"].(string)
	b := h.srv.Bootstrap
	introspect := func() bool {
		status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/introspect", url.Values{"token": {tok.AccessToken}}, b.ClientID, b.ClientSecret)
		if status != 200 {
			t.Fatalf("introspect: %d %v", status, body)
		}
		return body["active"] == true
	}
	if !introspect() {
		t.Fatal("a fresh token is inactive")
	}
	status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/revoke", url.Values{"client_id": {u.native.AppID}, "token": {tok.RefreshToken}}, "", "")
	if status != 200 {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if introspect() {
		t.Error("the access token of a revoked sign-in is active")
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/default/oauth2/v2.0/revocations?after=0", nil)
	status, body, hdr := h.do(req)
	raw, _ := json.Marshal(body)
	if status != 200 || hdr.Get("Cache-Control") != "no-store" || !strings.Contains(string(raw), `"value":"`+sid+`"`) {
		t.Errorf("feed: %d %s", status, raw)
	}
}
