package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
	"github.com/tessera-id/tessera/internal/web"
)

// clock is the injected time of the directory, the sessions and the pages.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the pages on a real HTTPS server on loopback over a real SQLite
// store, with a tenant, an API, a confidential web app, a public client,
// and a user.
type env struct {
	t        *testing.T
	ctx      context.Context
	clock    *clock
	dir      *directory.Service
	sessions *session.Service
	keys     *token.Ring
	ts       *httptest.Server
	tenant   directory.Tenant
	api      directory.Application
	webApp   directory.Application // confidential, https://app.example/callback
	native   directory.Application // public, http://127.0.0.1/callback and http://localhost
	user     directory.User
}

const (
	password    = "correct horse battery"
	webRedirect = "https://app.example/callback"
)

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with edit applied to the pages' configuration.
func newEnvWith(t *testing.T, edit func(*web.Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	rand.Read(master)
	keys, err := secrets.New(master)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	sessions := session.NewService(st, keys, keys, session.Options{Now: clk.Now})
	dir := directory.NewService(st, keys, directory.Options{Now: clk.Now, PasswordParams: directory.PasswordParams{Memory: 1024, Time: 1, Threads: 1},
		Revoker: sessions})
	ring, err := token.NewRing(ctx, st, keys, token.RingOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, clock: clk, dir: dir, sessions: sessions, keys: ring}
	mux := http.NewServeMux()
	e.ts = httptest.NewTLSServer(mux)
	t.Cleanup(e.ts.Close)
	cfg := web.Config{Directory: dir, Sessions: sessions, Keys: ring, Secrets: keys, PublicURL: e.ts.URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.Now}
	if edit != nil {
		edit(&cfg)
	}
	web.New(cfg).Register(mux)

	e.tenant, err = dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "contoso"})
	if err != nil {
		t.Fatal(err)
	}
	e.api = e.mustApp(directory.ApplicationSpec{DisplayName: "Studies API", IdentifierURIs: []string{"api://studies"},
		Scopes: []directory.Scope{{Value: "Studies.Read", DisplayName: "Read your studies", Description: "Lets the app read the studies you can see.", Enabled: true}}})
	e.webApp = e.mustApp(directory.ApplicationSpec{DisplayName: "Studies Web", RedirectURIs: []string{webRedirect}})
	e.native = e.mustApp(directory.ApplicationSpec{DisplayName: "Studies Desktop", PublicClient: true,
		RedirectURIs: []string{"http://127.0.0.1/callback", "http://localhost"}})
	e.user, err = dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", DisplayName: "Alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) mustApp(spec directory.ApplicationSpec) directory.Application {
	e.t.Helper()
	app, err := e.dir.CreateApplication(e.ctx, e.tenant.ID, spec)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.dir.CreateServicePrincipal(e.ctx, e.tenant.ID, directory.ServicePrincipalSpec{AppID: app.AppID}); err != nil {
		e.t.Fatal(err)
	}
	return app
}

// pkce returns a verifier and its S256 challenge (RFC 7636 §4.1-4.2).
func pkce() (string, string) {
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	s := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(s[:])
}

// authorizeURL builds a v2 authorization request for the web app with
// openid profile and the API's scope; edit changes parameters ("" deletes).
func (e *env) authorizeURL(edit map[string]string) string {
	q := url.Values{"client_id": {e.webApp.AppID}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {"openid profile api://studies/Studies.Read"}, "state": {"st-123"}, "nonce": {"n-456"}}
	for k, v := range edit {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return e.ts.URL + "/" + e.tenant.Domain + "/oauth2/v2.0/authorize?" + q.Encode()
}

// browser is a client with a cookie jar that never follows redirects.
type browser struct {
	e    *env
	c    *http.Client
	jar  *cookiejar.Jar
	last *url.URL
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	// A copy: ts.Client() is one shared client, and each browser needs
	// its own jar.
	c := *e.ts.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, c: &c, jar: jar}
}

// answer is a response: a page or a redirect.
type answer struct {
	status   int
	header   http.Header
	body     string
	page     string // data-page
	location *url.URL
	forms    map[string]form
}

type form struct {
	action string
	fields url.Values
}

var (
	reForm     = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	reInput    = regexp.MustCompile(`<input\b([^>]*)>`)
	reAttr     = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"`)
	reDataPage = regexp.MustCompile(`<main\b[^>]*\bdata-page="([^"]*)"`)
	reMessage  = regexp.MustCompile(`(?s)<p\b[^>]*class="message"[^>]*>(.*?)</p>`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range reAttr.FindAllStringSubmatch(s, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

func (b *browser) do(req *http.Request) answer {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(raw), forms: map[string]form{}}
	a.location, _ = resp.Location()
	if m := reDataPage.FindStringSubmatch(a.body); m != nil {
		a.page = m[1]
	}
	for _, fm := range reForm.FindAllStringSubmatch(a.body, -1) {
		fa := attrs(fm[1])
		f := form{action: fa["action"], fields: url.Values{}}
		for _, im := range reInput.FindAllStringSubmatch(fm[2], -1) {
			ia := attrs(im[1])
			if ia["name"] != "" {
				f.fields.Add(ia["name"], ia["value"])
			}
		}
		a.forms[fa["id"]] = f
	}
	b.last = req.URL
	return a
}

func (b *browser) get(u string) answer {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

// post sends a form as a browser would: the page's fields, with set
// applied ("" deletes).
func (b *browser) post(a answer, id string, set map[string]string) answer {
	b.e.t.Helper()
	f, ok := a.forms[id]
	if !ok {
		b.e.t.Fatalf("no form %q on the %q page (status %d):\n%s", id, a.page, a.status, a.body)
	}
	vals := url.Values{}
	for k, v := range f.fields {
		vals[k] = v
	}
	for k, v := range set {
		if v == "" {
			vals.Del(k)
		} else {
			vals.Set(k, v)
		}
	}
	target, _ := url.Parse(b.e.ts.URL)
	target = target.ResolveReference(&url.URL{Path: f.action})
	req, _ := http.NewRequest("POST", target.String(), strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (a answer) message() string {
	if m := reMessage.FindStringSubmatch(a.body); m != nil {
		return html.UnescapeString(strings.TrimSpace(m[1]))
	}
	return ""
}

// signIn answers a sign-in page with the user's password.
func (b *browser) signIn(a answer, username, pw string) answer {
	b.e.t.Helper()
	if a.page != "signin" {
		b.e.t.Fatalf("expected the sign-in page, got %q (status %d, location %v):\n%s", a.page, a.status, a.location, a.body)
	}
	return b.post(a, "signin", map[string]string{"username": username, "password": pw})
}

// ssoCookie returns the browser's SSO cookie for the tenant, or "".
func (b *browser) ssoCookie() string {
	u, _ := url.Parse(b.e.ts.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "__Host-tessera_sso_"+strings.ReplaceAll(b.e.tenant.ID, "-", "") {
			return c.Value
		}
	}
	return ""
}

// mustRedirect checks that a is a redirect to the web app's redirect URI
// and returns its query.
func (e *env) mustRedirect(a answer, to string) url.Values {
	e.t.Helper()
	if a.location == nil {
		e.t.Fatalf("expected a redirect to %s, got status %d page %q: %s\n%s", to, a.status, a.page, a.message(), a.body)
	}
	got := *a.location
	got.RawQuery = ""
	if got.String() != to {
		e.t.Fatalf("redirect to %s, want %s", a.location, to)
	}
	return a.location.Query()
}
