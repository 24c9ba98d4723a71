package oauth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/oauth"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
)

// clock is the one injected clock of a fixture: the directory, sessions,
// key ring and handler all read it, so expiry is tested by advancing it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const password = "correct horse battery staple"

// fixture is the protocol handler over a real SQLite store, served on
// loopback by httptest, with one tenant holding:
//   - api: a v2 API (api://studies) exposing read and write, with a Reader
//     role for users;
//   - legacy: a v1 API (https://legacy.example/api) exposing
//     user_impersonation;
//   - public: a public client (redirect http://localhost/cb);
//   - conf: a confidential client with a secret (redirect https://app.example/cb);
//   - alice, who holds Reader on api and consented for both clients to
//     the OIDC scopes and api's read.
type fixture struct {
	t          testing.TB
	ctx        context.Context
	clock      *clock
	dir        *directory.Service
	store      directory.Repository // under dir, to plant rows the domain refuses
	sess       *session.Service
	ring       *token.Ring
	srv        *httptest.Server
	tenant     directory.Tenant
	api        directory.Application
	legacy     directory.Application
	public     directory.Application
	conf       directory.Application
	confSecret string
	user       directory.User
	handler    *oauth.Handler
	// logs is the handler's log, written at logLevel and above; nothing
	// unless a test lowers the level.
	logs     *lockedBuffer
	logLevel *slog.LevelVar
}

// lockedBuffer is a bytes.Buffer for a log written by the server's
// goroutines and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, nil)
}

// newFixtureWith is newFixture with the sessions' repository wrapped by
// wrap (nil: none), for tests that watch what the protocol reads.
func newFixtureWith(t testing.TB, wrap func(session.Repository) session.Repository) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
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
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	f := &fixture{t: t, ctx: ctx, clock: c, logs: &lockedBuffer{}, logLevel: &slog.LevelVar{}}
	f.logLevel.Set(slog.LevelError + 1)
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: f.logLevel}))
	var repo session.Repository = st
	if wrap != nil {
		repo = wrap(st)
	}
	f.sess = session.NewService(repo, keys, keys, session.Options{Now: c.Now})
	f.store = st
	f.dir = directory.NewService(st, keys, directory.Options{Now: c.Now, PasswordParams: directory.PasswordParams{Memory: 1024, Time: 1, Threads: 1},
		Revoker: f.sess})
	if f.ring, err = token.NewRing(ctx, st, keys, token.RingOptions{Now: c.Now, Logger: log}); err != nil {
		t.Fatal(err)
	}
	f.tenant = must(f.dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "contoso"}))
	tid := f.tenant.ID
	f.api = f.app(directory.ApplicationSpec{DisplayName: "Studies API", IdentifierURIs: []string{"api://studies"},
		Scopes:   []directory.Scope{{Value: "read", Enabled: true}, {Value: "write", Enabled: true}},
		AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser}}}})
	f.legacy = f.app(directory.ApplicationSpec{DisplayName: "Legacy API", IdentifierURIs: []string{"https://legacy.example/api"},
		AccessTokenAcceptedVersion: 1, Scopes: []directory.Scope{{Value: "user_impersonation", Enabled: true}}})
	f.public = f.app(directory.ApplicationSpec{DisplayName: "Native app", PublicClient: true, RedirectURIs: []string{"http://localhost/cb"}})
	f.conf = f.app(directory.ApplicationSpec{DisplayName: "Web app", RedirectURIs: []string{"https://app.example/cb"}})
	if _, f.confSecret, err = f.dir.AddSecret(ctx, tid, f.conf.AppID, directory.SecretSpec{}); err != nil {
		t.Fatal(err)
	}
	f.user = must(f.dir.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "alice", DisplayName: "Alice", Mail: "alice@example.com", MailVerified: true, Password: password}))
	must(f.dir.AssignRole(ctx, tid, directory.AssignmentSpec{Principal: f.user.ObjectID, Resource: f.api.AppID, Role: "Reader"}))
	for _, client := range []string{f.public.AppID, f.conf.AppID} {
		f.consent(client, "openid profile email offline_access api://studies/read")
	}

	mux := http.NewServeMux()
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	f.handler = oauth.New(oauth.Config{Directory: f.dir, Sessions: f.sess, Keys: f.ring, PublicURL: f.srv.URL, Logger: log, Now: c.Now})
	f.handler.Register(mux)
	return f
}

// must unwraps the result of a setup call; setup does not fail.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) app(spec directory.ApplicationSpec) directory.Application {
	f.t.Helper()
	a := must(f.dir.CreateApplication(f.ctx, f.tenant.ID, spec))
	must(f.dir.CreateServicePrincipal(f.ctx, f.tenant.ID, directory.ServicePrincipalSpec{AppID: a.AppID}))
	return a
}

// consent records alice's consent for client to scope.
func (f *fixture) consent(clientID, scope string) {
	f.t.Helper()
	q := must(f.dir.ParseScopes(f.ctx, f.tenant.ID, scope, ""))
	check(f.t, f.dir.Consent(f.ctx, f.tenant.ID, clientID, f.user.ObjectID, q))
}

// signIn does what the authorization endpoint does after alice signed in
// and consented: a grant for the client and a code for it.
func (f *fixture) signIn(clientID, redirect, scope, challenge, nonce string) (code string, g session.Grant) {
	f.t.Helper()
	scopes := strings.Fields(scope)
	g = must(f.sess.NewGrant(f.ctx, f.tenant.ID, session.GrantSpec{UserID: f.user.ObjectID, ClientID: clientID,
		Scopes: scopes, AuthTime: f.clock.Now(), Lifetime: 24 * time.Hour}))
	c := session.Code{GrantID: g.ID, ClientID: clientID, RedirectURI: redirect, Scopes: scopes, Nonce: nonce}
	if challenge != "" {
		c.CodeChallenge, c.CodeChallengeMethod = challenge, "S256"
	}
	code = must(f.sess.IssueCode(f.ctx, f.tenant.ID, c, 5*time.Minute))
	return code, g
}

// response is an HTTP answer with its JSON decoded.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

// aadsts is the one AADSTS number of an error response.
func (r response) aadsts() int {
	codes, _ := r.body["error_codes"].([]any)
	if len(codes) != 1 {
		return 0
	}
	n, _ := codes[0].(float64)
	return int(n)
}

func (f *fixture) do(req *http.Request) response {
	f.t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		json.Unmarshal(raw, &r.body)
	}
	return r
}

// post sends a form to a path of the fixture's server.
func (f *fixture) post(path string, form url.Values) response {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

func (f *fixture) get(path string) response {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	return f.do(req)
}

// token posts to the tenant's v2 token endpoint.
func (f *fixture) token(form url.Values) response {
	f.t.Helper()
	return f.post("/"+f.tenant.ID+"/oauth2/v2.0/token", form)
}

// claims decodes a JWT's payload (the handler signed it; tests read it).
func claims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// pkce returns a verifier and its S256 challenge (RFC 7636 §4.1-4.2).
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// grantActive reports whether a grant is still active.
func (f *fixture) grantActive(id string) bool {
	_, err := f.sess.ActiveGrant(f.ctx, f.tenant.ID, id)
	return err == nil
}

// wantError checks an RFC 6749 §5.2 error answer.
func wantError(t *testing.T, r response, status int, code string, aadsts int) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	if aadsts != 0 && r.aadsts() != aadsts {
		t.Errorf("error_codes %v, want [%d]", r.body["error_codes"], aadsts)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
}
