package account

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncWriter is a Status writer the login's goroutines may share.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// userClient is a client of f on clock, whose sleeps advance the clock
// instead of waiting, and records them.
type userClient struct {
	*Client
	clock  *testClock
	status *syncWriter
	mu     sync.Mutex
	sleeps []time.Duration
}

func newUserClient(f *fakeIdP) *userClient {
	clock := &testClock{now: fixedNow}
	f.setUser(func(u *userSide) { u.clock = clock.Now })
	uc := &userClient{clock: clock, status: &syncWriter{}}
	uc.Client = &Client{HTTP: f.srv.Client(), Now: clock.Now, Status: uc.status,
		Sleep: func(ctx context.Context, d time.Duration) error {
			uc.mu.Lock()
			uc.sleeps = append(uc.sleeps, d)
			uc.mu.Unlock()
			clock.Add(d)
			return ctx.Err()
		}}
	return uc
}

func loginFor(f *fakeIdP) UserLogin {
	return UserLogin{Authority: f.srv.URL + "/"}
}

func checkAlice(t *testing.T, p Profile) {
	t.Helper()
	want := Profile{Type: User, Tenant: testTenantID, TenantID: testTenantID, ClientID: testCLIClientID,
		Username: testUsername, ObjectID: testUserOID, HomeTenantID: testTenantID, IsDefault: true}
	p.Authority = ""
	if p != want {
		t.Errorf("profile = %+v\nwant      %+v", p, want)
	}
}

// RFC 8252 §7.3 and RFC 7636: the browser goes to the authorization
// endpoint with an S256 challenge and a loopback redirect; the code comes
// back there with state and iss, and is redeemed with the verifier at the
// token endpoint of the tenant as given.
func TestLoginBrowserWithPKCE(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	b := &browser{f: f}
	uc.OpenBrowser = b.open
	s := openTemp(t)
	p, err := uc.LoginBrowser(context.Background(), s, loginFor(f))
	if err != nil {
		t.Fatal(err)
	}
	checkAlice(t, p)
	if status, page := b.last(); status != 200 || !strings.Contains(page, "You have signed in; you can close this window") {
		t.Errorf("browser shows %d %q", status, page)
	}

	f.mu.Lock()
	q := f.user.authorize
	f.mu.Unlock()
	rec := f.lastForm()
	if rec.path != "/organizations/oauth2/v2.0/token" {
		t.Errorf("code redeemed at %s, want the tenant as given (organizations)", rec.path)
	}
	ru, _ := url.Parse(q.Get("redirect_uri"))
	if ru.Scheme != "http" || ru.Hostname() != "localhost" || ru.Port() == "" || rec.form["redirect_uri"][0] != q.Get("redirect_uri") {
		t.Errorf("redirect_uri %q (token request: %q), want http://localhost:{port} in both", q.Get("redirect_uri"), rec.form["redirect_uri"])
	}
	sum := sha256.Sum256([]byte(rec.form["code_verifier"][0]))
	if q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) || len(rec.form["code_verifier"][0]) < 43 {
		t.Error("code_challenge is not S256 of a 43+ character verifier")
	}
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("state") == q.Get("nonce") {
		t.Errorf("state %q, nonce %q: want two distinct random values", q.Get("state"), q.Get("nonce"))
	}
	if got := q.Get("scope"); got != "openid profile offline_access" {
		t.Errorf("scope = %q", got)
	}
	if rec.form["client_info"][0] != "1" || rec.form["client_id"][0] != testCLIClientID {
		t.Errorf("token request %v", rec.form)
	}
	if !strings.Contains(uc.status.String(), "/organizations/oauth2/v2.0/authorize?") {
		t.Errorf("status %q does not show the URL", uc.status.String())
	}
	// The account is stored with its refresh token; the loopback port is closed.
	doc, _ := s.loadTokensDoc()
	if rt := doc.RefreshTokens[accountKey(p)]; !strings.HasPrefix(rt.Secret, "rt-") || rt.Username != testUsername {
		t.Errorf("refresh token entry %+v", rt)
	}
	if cur, err := s.Current(); err != nil || cur.Key() != p.Key() {
		t.Errorf("Current() = %+v, %v", cur, err)
	}
	if resp, err := http.Get(q.Get("redirect_uri")); err == nil {
		resp.Body.Close()
		t.Error("the loopback server still listens after the sign-in")
	}
}

// With --scope the sign-in's access token is cached for that scope.
func TestLoginBrowserWithScopeCachesItsToken(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	uc.OpenBrowser = (&browser{f: f}).open
	s := openTemp(t)
	l := loginFor(f)
	l.Tenant, l.Scopes = testDomain, []string{"api://orders/.default"}
	p, err := uc.LoginBrowser(context.Background(), s, l)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant != testDomain || f.lastForm().path != "/"+testTenantID+"/oauth2/v2.0/token" {
		t.Errorf("tenant %q, token request to %s", p.Tenant, f.lastForm().path)
	}
	if got := f.lastForm().form["scope"][0]; got != "openid profile offline_access api://orders/.default" {
		t.Errorf("scope = %q", got)
	}
	n := f.tokenRequests()
	tok, err := uc.Token(context.Background(), s, p, Target{Scope: "api://orders/.default"})
	if err != nil || !strings.HasPrefix(tok.AccessToken, "user-at-") || f.refreshCount() != 0 || f.tokenRequests() != n {
		t.Errorf("token after login = %+v, %v; %d refreshes: want the sign-in's own token from the cache", tok, err, f.refreshCount())
	}
}

// A response that is not for this sign-in (wrong state: another page's
// forged redirect) is shown an error and ignored; the real one completes.
func TestLoginBrowserIgnoresForgedResponse(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	b := &browser{f: f}
	var forged int
	b.before = func(ctx context.Context, u string) {
		au, _ := url.Parse(u)
		forged, _ = b.get(ctx, au.Query().Get("redirect_uri")+"/?code=attacker-code&state=guessed")
	}
	uc.OpenBrowser = b.open
	p, err := uc.LoginBrowser(context.Background(), openTemp(t), loginFor(f))
	if err != nil {
		t.Fatal(err)
	}
	checkAlice(t, p)
	if forged != http.StatusBadRequest {
		t.Errorf("forged response answered %d, want 400", forged)
	}
}

func TestLoginBrowserRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string // the rule
		set  func(u *userSide)
		want string
	}{
		{"RFC 9207 §2.4: iss of another authority (mix-up)", func(u *userSide) { u.issOverride = "https://evil.example/" + testTenantID + "/v2.0" }, "another authority"},
		{"RFC 9207 §2.4: iss missing though promised", func(u *userSide) { u.omitIss = true }, "carries no iss"},
		{"RFC 6749 §4.1.2.1: error response", func(u *userSide) { u.deny = true }, "AADSTS65004"},
		{"OIDC Core §3.1.3.7: nonce of another request", func(u *userSide) {
			u.mutateID = func(c map[string]any) *rsa.PrivateKey { c["nonce"] = "other"; return nil }
		}, "nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIdP(t)
			uc := newUserClient(f)
			f.setUser(tc.set)
			b := &browser{f: f}
			uc.OpenBrowser = b.open
			s := openTemp(t)
			_, err := uc.LoginBrowser(context.Background(), s, loginFor(f))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if _, err := s.Current(); !errors.Is(err, ErrNotLoggedIn) {
				t.Error("a refused sign-in stored an account")
			}
		})
	}
}

// Entra's shape: no iss on the response, no revocation endpoint, a
// template issuer for organizations.
func TestLoginBrowserAgainstEntraShape(t *testing.T) {
	f := newFakeIdP(t)
	f.setUser(func(u *userSide) { u.entra = true })
	uc := newUserClient(f)
	uc.OpenBrowser = (&browser{f: f}).open
	p, err := uc.LoginBrowser(context.Background(), openTemp(t), loginFor(f))
	if err != nil {
		t.Fatal(err)
	}
	checkAlice(t, p)
}

// No browser: the URL is printed, and the person opens it elsewhere.
func TestLoginBrowserPrintsURLWithoutBrowser(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	b := &browser{f: f}
	uc.OpenBrowser = func(ctx context.Context, u string) error {
		go b.open(ctx, u) // the person copies the URL into a browser
		return errors.New("no display to open a browser on")
	}
	if _, err := uc.LoginBrowser(context.Background(), openTemp(t), loginFor(f)); err != nil {
		t.Fatal(err)
	}
	out := uc.status.String()
	if !strings.Contains(out, "no display") || !strings.Contains(out, "Open this URL") || !strings.Contains(out, "code_challenge=") {
		t.Errorf("status %q: want the reason and the whole URL", out)
	}
}

func TestLoginBrowserStopsWithContext(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	ctx, cancel := context.WithCancel(context.Background())
	uc.OpenBrowser = func(context.Context, string) error { cancel(); return nil } // the person walks away
	_, err := uc.LoginBrowser(ctx, openTemp(t), loginFor(f))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// RFC 8628 §3.4-3.5: the message goes to Status, polls wait the interval,
// slow_down adds 5 s for good, and authorization_pending keeps polling.
func TestLoginDeviceCode(t *testing.T) {
	f := newFakeIdP(t)
	f.setUser(func(u *userSide) {
		u.devicePlan = []string{"authorization_pending", "slow_down", "authorization_pending"}
	})
	uc := newUserClient(f)
	s := openTemp(t)
	l := loginFor(f)
	l.Tenant = testDomain
	p, err := uc.LoginDeviceCode(context.Background(), s, l)
	if err != nil {
		t.Fatal(err)
	}
	p.Tenant = testTenantID // given as the domain; checked below
	checkAlice(t, p)
	want := []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second}
	if len(uc.sleeps) != len(want) {
		t.Fatalf("sleeps %v, want %v", uc.sleeps, want)
	}
	for i := range want {
		if uc.sleeps[i] != want[i] {
			t.Errorf("sleeps %v, want %v", uc.sleeps, want)
			break
		}
	}
	out := uc.status.String()
	if !strings.HasPrefix(out, "To sign in, use a web browser to open the page ") || !strings.Contains(out, "BCDF-GHJK") || !strings.Contains(out, "...\n") {
		t.Errorf("status %q: want the server's message and a dot per pending poll", out)
	}
	rec := f.lastForm()
	if rec.form["grant_type"][0] != DeviceCodeGrantType || rec.form["device_code"][0] != "dev-1" || rec.path != "/"+testTenantID+"/oauth2/v2.0/token" {
		t.Errorf("poll %s %v", rec.path, rec.form)
	}
}

func TestLoginDeviceCodeEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan []string
		life int
		want string
	}{
		{"RFC 8628 §3.5 expired_token", []string{"authorization_pending", "expired_token"}, 900, "expired"},
		{"Entra's code_expired", []string{"code_expired"}, 900, "expired"},
		{"RFC 8628 §3.5 access_denied", []string{"access_denied"}, 900, "declined"},
		{"Entra's authorization_declined", []string{"authorization_declined"}, 900, "declined"},
		{"other errors end the wait", []string{"invalid_grant"}, 900, "AADSTS70016"},
		{"the client gives up at expires_in", []string{"authorization_pending", "authorization_pending", "authorization_pending", "authorization_pending"}, 12, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.setUser(func(u *userSide) { u.devicePlan, u.deviceLife = tc.plan, tc.life })
			uc := newUserClient(f)
			s := openTemp(t)
			_, err := uc.LoginDeviceCode(context.Background(), s, loginFor(f))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if _, err := s.Current(); !errors.Is(err, ErrNotLoggedIn) {
				t.Error("a failed sign-in stored an account")
			}
		})
	}
}

// az login -u -p: the password grant; a wrong password is the server's
// sentence without the password.
func TestLoginPassword(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	s := openTemp(t)
	p, err := uc.LoginPassword(context.Background(), s, loginFor(f), testUsername, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	checkAlice(t, p)
	if rec := f.lastForm(); rec.form["grant_type"][0] != "password" || rec.path != "/organizations/oauth2/v2.0/token" {
		t.Errorf("request %s %v", rec.path, rec.form)
	}
	_, err = uc.LoginPassword(context.Background(), s, loginFor(f), testUsername, "wrong horse")
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "invalid_grant" || !strings.Contains(err.Error(), "AADSTS50126") || strings.Contains(err.Error(), "wrong horse") {
		t.Fatalf("err = %v", err)
	}
}
