package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
)

// testNow is the directory's clock in these tests: fixed, so that golden
// answers are byte-for-byte stable.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Bearer tokens the fake authenticator knows.
const (
	tokSystem  = "system-admin"  // admin role in the home tenant
	tokAdminA  = "tenant-a"      // admin role in tenant "contoso"
	tokNoRole  = "no-role"       // a token of the home tenant without the role
	tokSysNoRl = "system-norole" // home tenant, flagged system admin, but no role
)

// fakeAuth stands for the server's token validation (another engineer's
// edge): a fixed table of tokens.
type fakeAuth map[string]Caller

func (f fakeAuth) Authenticate(r *http.Request) (Caller, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Caller{}, errors.New("no bearer token")
	}
	c, ok := f[tok]
	if !ok {
		return Caller{}, errors.New("signature invalid for token " + tok)
	}
	return c, nil
}

// fakeKeys stands for the key ring (another engineer's edge).
type fakeKeys struct {
	mu   sync.Mutex
	keys []token.KeyInfo
	err  error
}

func newFakeKeys() *fakeKeys {
	return &fakeKeys{keys: []token.KeyInfo{
		{ID: "k2", Alg: "RS256", State: token.KeyNext, CreatedAt: testNow, Thumbprint: "dDI"},
		{ID: "k1", Alg: "RS256", State: token.KeyActive, CreatedAt: testNow.Add(-time.Hour), ActivatedAt: testNow.Add(-time.Hour), Thumbprint: "dDE"},
	}}
}

func (f *fakeKeys) ListKeys(context.Context) ([]token.KeyInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]token.KeyInfo(nil), f.keys...), f.err
}

func (f *fakeKeys) RotateKeys(context.Context) ([]token.KeyInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	next, active := f.keys[0], f.keys[1]
	active.State, active.PublishUntil = token.KeyRetired, testNow.Add(24*time.Hour)
	next.State, next.ActivatedAt = token.KeyActive, testNow
	f.keys = []token.KeyInfo{{ID: "k3", Alg: "RS256", State: token.KeyNext, CreatedAt: testNow, Thumbprint: "dDM"}, next, active}
	return append([]token.KeyInfo(nil), f.keys...), nil
}

// syncBuffer collects the log; handlers may log from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t   *testing.T
	dir *directory.Service
	// repo is the store under dir, to read and plant rows below the
	// domain's rules.
	repo directory.Repository
	// sessions is the real session layer over the same store: disabling
	// or deleting a user revokes through it, as in the server.
	sessions *session.Service
	keys     *fakeKeys
	handler  http.Handler
	log      *syncBuffer
	home     directory.Tenant // "default", the home tenant
	contoso  directory.Tenant // tenant A
	spec     routers.Router
	// audit is the recorder the handler and the session layer write to,
	// over the same store.
	audit *audit.Recorder
}

type envOption func(*envConfig)

type envConfig struct {
	wrapRepo func(directory.Repository) directory.Repository
}

// withRepo wraps the real store, e.g. to make one call fail.
func withRepo(f func(directory.Repository) directory.Repository) envOption {
	return func(c *envConfig) { c.wrapRepo = f }
}

// newEnv builds the API over a real SQLite store in a temporary folder,
// with a fixed clock and a seeded random source for stable ids.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	e0log := &syncBuffer{}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hasher, err := secrets.New(bytes.Repeat([]byte{7}, secrets.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	var repo directory.Repository = st
	if cfg.wrapRepo != nil {
		repo = cfg.wrapRepo(repo)
	}
	logger := slog.New(slog.NewJSONHandler(e0log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec := audit.NewRecorder(st, audit.Options{Logger: logger, Now: func() time.Time { return testNow }})
	t.Cleanup(func() { rec.Close(context.Background()) })
	sessions := session.NewService(st, hasher, hasher, session.Options{Now: func() time.Time { return testNow }, Audit: rec})
	dir := directory.NewService(repo, hasher, directory.Options{
		Now:     func() time.Time { return testNow },
		Rand:    rand.NewChaCha8([32]byte{1}),
		Revoker: sessions,
	})
	e := &env{t: t, dir: dir, repo: repo, sessions: sessions, keys: newFakeKeys(), log: e0log, spec: specRouter(t), audit: rec}
	if e.home, err = dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "default"}); err != nil {
		t.Fatal(err)
	}
	if e.contoso, err = dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "contoso.example", DisplayName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	auth := fakeAuth{
		tokSystem:  {TenantID: e.home.ID, Subject: "sys", ClientID: "c-sys", Roles: []string{directory.AdminRole}, SystemAdmin: true},
		tokAdminA:  {TenantID: e.contoso.ID, Subject: "a", ClientID: "c-a", Roles: []string{"Other", directory.AdminRole}},
		tokNoRole:  {TenantID: e.home.ID, Subject: "x", ClientID: "c-x", Roles: []string{"Reader"}},
		tokSysNoRl: {TenantID: e.home.ID, Subject: "y", ClientID: "c-y", SystemAdmin: true},
	}
	e.handler = New(Config{Directory: dir, Keys: e.keys, Auth: auth, Logger: logger, Now: func() time.Time { return testNow }, Audit: rec})
	return e
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specLoadEr error
)

// specRouter loads and validates the embedded OpenAPI document once.
func specRouter(t *testing.T) routers.Router {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specLoadEr = loader.LoadFromData(Spec)
		if specLoadEr == nil {
			specLoadEr = specDoc.Validate(loader.Context)
		}
	})
	if specLoadEr != nil {
		t.Fatalf("openapi.yaml: %v", specLoadEr)
	}
	r, err := gorillamux.NewRouter(specDoc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// reqOpt changes how do checks a request against the description.
type reqOpt int

const (
	// invalidRequest: the test sends a request the description forbids on
	// purpose; only the answer is checked.
	invalidRequest reqOpt = iota + 1
	// unrouted: the path or method is not in the description at all.
	unrouted
	// rawBody: the body argument is sent as is, not marshalled.
	rawBody
)

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, r.body)
	}
}

func (r response) errorBody(t *testing.T) ErrorBody {
	t.Helper()
	var e ErrorResponse
	r.json(t, &e)
	return e.Error
}

// do sends a request to the handler and checks the request and the answer
// against the OpenAPI document, so that code and description cannot drift.
func (e *env) do(method, path, tok string, body any, opts ...reqOpt) response {
	t := e.t
	t.Helper()
	has := func(o reqOpt) bool {
		for _, x := range opts {
			if x == o {
				return true
			}
		}
		return false
	}
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		if !has(rawBody) {
			t.Fatal("a string body needs rawBody")
		}
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	newReq := func() *http.Request {
		var rd io.Reader
		if raw != nil {
			rd = bytes.NewReader(raw)
		}
		r := httptest.NewRequest(method, path, rd)
		if raw != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}

	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, newReq())
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if got := res.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, got)
	}

	req := newReq()
	route, params, err := e.spec.FindRoute(req)
	if has(unrouted) {
		if err == nil {
			t.Fatalf("%s %s is in openapi.yaml but the test said it is not", method, path)
		}
		return res
	}
	if err != nil {
		t.Fatalf("%s %s: not in openapi.yaml: %v", method, path, err)
	}
	covered.Store(route.Method+" "+route.Path, true)
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
	if !has(invalidRequest) {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Fatalf("%s %s: request does not match openapi.yaml: %v", method, path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.status, Header: res.header,
		Body: io.NopCloser(bytes.NewReader(res.body)), Options: in.Options}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Fatalf("%s %s: answer %d does not match openapi.yaml: %v\n%s", method, path, res.status, err, res.body)
	}
	return res
}

// must checks the status of an answer.
func (r response) must(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func tenantPath(t directory.Tenant, rest string) string {
	return "/admin/v1/tenants/" + t.Domain + rest
}
