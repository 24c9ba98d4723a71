package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tessera-id/tessera/internal/directory"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// callbackRecorder is a client's redirect URI on loopback: it records
// every authorization response it receives.
type callbackRecorder struct {
	mu   sync.Mutex
	got  []url.Values
	next chan url.Values
}

func (c *callbackRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/callback" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	c.mu.Lock()
	c.got = append(c.got, q)
	c.mu.Unlock()
	select {
	case c.next <- q:
	default:
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><title>Signed in</title><main data-page="client-callback"><h1>The client received a response</h1></main>`)
}

// wait returns the next response the callback received.
func (c *callbackRecorder) wait(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-c.next:
		return q
	case <-time.After(30 * time.Second):
		t.Fatal("the client's redirect URI received nothing")
		return nil
	}
}

// serverSPKIHash is the base64 SHA-256 of the server certificate's
// public key, for Chromium's --ignore-certificate-errors-spki-list: it
// accepts exactly that certificate, unlike --ignore-certificate-errors.
func serverSPKIHash(t *testing.T, h *harness) string {
	t.Helper()
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(h.srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", h.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// newChromium starts a headless Chromium with a fresh profile that trusts
// the server's certificate.
func newChromium(t *testing.T, h *harness) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; .ci/run installs it (apt-get install chromium)", chromiumPath)
		}
		t.Skipf("%s is missing: apt-get install chromium to run the browser test", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("ignore-certificate-errors-spki-list", serverSPKIHash(t, h)),
		chromedp.WindowSize(1024, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page to test-output/ at the repository root.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join("..", "test-output")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pageKind returns the data-page of the page the browser shows.
func pageKind(t *testing.T, ctx context.Context) string {
	t.Helper()
	kind, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("main"), "data-page"))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return kind.Value
}

// atClient waits until the browser shows the client's page. The client
// has its request once rec.wait returns, but the browser may still be
// loading the answer; a navigation started then aborts that load
// (net::ERR_ABORTED) and fails the test for a race of its own making.
func atClient(t *testing.T, b context.Context) {
	t.Helper()
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`main[data-page="client-callback"]`))); err != nil {
		t.Fatalf("the browser did not show the client's page: %v", err)
	}
}

// TestBrowserSignInConsentSSOAndLogout drives the pages with a real
// Chromium: sign-in, consent, the code at the client's loopback redirect
// URI with the same state; single sign-on on the next request; logout
// ends it.
func TestBrowserSignInConsentSSOAndLogout(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	dir := h.srv.Directory
	tid := h.tenant()

	rec := &callbackRecorder{next: make(chan url.Values, 4)}
	cb := httptest.NewServer(rec)
	t.Cleanup(cb.Close)
	redirectURI := cb.URL + "/callback" // http://127.0.0.1:{port}/callback

	api, err := dir.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "Studies API", IdentifierURIs: []string{"api://studies"},
		Scopes: []directory.Scope{{Value: "Studies.Read", DisplayName: "Read your studies", Description: "Lets the app read the studies you can see.", Enabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := dir.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "Studies Web", RedirectURIs: []string{redirectURI}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{api.AppID, client.AppID} {
		if _, err := dir.CreateServicePrincipal(ctx, tid, directory.ServicePrincipalSpec{AppID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dir.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "alice", DisplayName: "Alice", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	authorize := func(state string) string {
		return h.srv.URL + "/" + tid + "/oauth2/v2.0/authorize?" + url.Values{
			"client_id": {client.AppID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
			"scope": {"openid profile offline_access api://studies/Studies.Read"}, "state": {state}, "nonce": {"n-" + state},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		}.Encode()
	}

	b := newChromium(t, h)
	if err := chromedp.Do(b, chromedp.Navigate(authorize("first-state"))); err != nil {
		t.Fatal(err)
	}
	if k := pageKind(t, b); k != "signin" {
		t.Fatalf("first authorize shows %q, want the sign-in page", k)
	}
	screenshot(t, b, "browser-1-signin.png")
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="consent"]`)),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	consentText, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Studies Web", "Sign you in", "Read your studies", "api://studies/Studies.Read"} {
		if !strings.Contains(consentText, want) {
			t.Errorf("the consent page does not show %q", want)
		}
	}
	screenshot(t, b, "browser-2-consent.png")
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`#consent button[value="accept"]`))); err != nil {
		t.Fatalf("accept: %v", err)
	}
	q := rec.wait(t)
	atClient(t, b)
	if q.Get("state") != "first-state" || !strings.HasPrefix(q.Get("code"), "tac_") || q.Get("iss") != h.srv.URL+"/"+tid+"/v2.0" {
		t.Fatalf("the client received %v", q)
	}
	c, g, err := h.srv.Sessions.RedeemCode(ctx, tid, q.Get("code"))
	if err != nil {
		t.Fatalf("redeem the browser's code: %v", err)
	}
	if c.ClientID != client.AppID || c.RedirectURI != redirectURI || c.Nonce != "n-first-state" {
		t.Errorf("code %+v", c)
	}

	// Single sign-on: the next request goes straight to the client.
	if err := chromedp.Do(b, chromedp.Navigate(authorize("second-state"))); err != nil {
		t.Fatal(err)
	}
	q = rec.wait(t)
	if q.Get("state") != "second-state" || q.Get("code") == "" {
		t.Fatalf("SSO: the client received %v", q)
	}
	if k := pageKind(t, b); k != "client-callback" {
		t.Fatalf("SSO ended on %q, want the client's page", k)
	}

	// Logout without an id_token_hint asks first (logout CSRF, OIDC
	// RP-Initiated Logout 1.0 §2): "Stay signed in" keeps the session.
	logout := h.srv.URL + "/" + tid + "/oauth2/v2.0/logout?" + url.Values{"client_id": {client.AppID},
		"post_logout_redirect_uri": {redirectURI}, "state": {"bye"}}.Encode()
	if err := chromedp.Do(b, chromedp.Navigate(logout)); err != nil {
		t.Fatal(err)
	}
	if k := pageKind(t, b); k != "logout" {
		t.Fatalf("logout shows %q, want the confirmation page", k)
	}
	screenshot(t, b, "browser-3-logout.png")
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`#logout button[value="cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="still_signed_in"]`)),
	); err != nil {
		t.Fatalf("stay signed in: %v", err)
	}
	if _, err := h.srv.Sessions.ActiveGrant(ctx, tid, g.ID); err != nil {
		t.Errorf("the grant after Stay signed in: %v", err)
	}
	// "Sign out" ends the session and the grant, and the browser goes back
	// to the client: the page's CSP form-action lets Chromium follow the
	// redirect after the POST. The next request signs in again.
	if err := chromedp.Do(b, chromedp.Navigate(logout)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`#logout button[value="signout"]`))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if q := rec.wait(t); q.Get("state") != "bye" || q.Get("code") != "" {
		t.Fatalf("the client received %v after logout, want state=bye", q)
	}
	atClient(t, b)
	if _, err := h.srv.Sessions.ActiveGrant(ctx, tid, g.ID); err == nil {
		t.Error("the grant is still active after logout")
	}
	if err := chromedp.Do(b, chromedp.Navigate(authorize("third-state"))); err != nil {
		t.Fatal(err)
	}
	if k := pageKind(t, b); k != "signin" {
		t.Fatalf("authorize after logout shows %q, want the sign-in page", k)
	}
	// A wrong password, as a person sees it.
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.message`)),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, b, "browser-4-wrong-password.png")
	select {
	case q := <-rec.next:
		t.Errorf("the client received %v after logout", q)
	default:
	}
}
