package account

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	testTenantID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	testDomain   = "default"
	testClientID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	testSecret   = "s3cr3t-Value~with.chars"
)

// fakeIdP answers like Entra on the endpoints the CLI uses: discovery, the
// v2 and v1 token endpoints (client credentials, by secret or by client
// assertion), and Entra's error bodies. It counts token requests so tests
// can tell a cached token from a fresh one.
type fakeIdP struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	requests  int          // token requests answered with a token
	forms     []formRecord // every token request's form
	jtis      map[string]bool
	cert      *x509.Certificate // the client's registered certificate
	expiresIn int
	echo      bool // put the presented secret into the error description, as a careless proxy might

	user userSide // the user sign-in endpoints: fake_user_test.go
}

type formRecord struct {
	path string
	form map[string][]string
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	f := &fakeIdP{t: t, jtis: map[string]bool{}, expiresIn: 3599}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) { f.token(w, r, false) })
	mux.HandleFunc("POST /{tenant}/oauth2/token", func(w http.ResponseWriter, r *http.Request) { f.token(w, r, true) })
	f.registerUserSide(mux)
	f.srv = httptest.NewUnstartedServer(mux)
	// The untrusted-CA test makes handshakes fail on purpose; keep the log quiet.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) tokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeIdP) lastForm() formRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.forms) == 0 {
		f.t.Fatal("no token request was made")
	}
	return f.forms[len(f.forms)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func entraError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: 1b2c\r\nCorrelation ID: 3d4e\r\nTimestamp: 2026-01-01 00:00:00Z", aadsts, msg),
		"error_codes":       []int{aadsts},
		"timestamp":         "2026-01-01 00:00:00Z",
		"trace_id":          "1b2c",
		"correlation_id":    "3d4e",
	})
}

func (f *fakeIdP) knownTenant(tenant string) bool {
	return strings.EqualFold(tenant, testTenantID) || strings.EqualFold(tenant, testDomain)
}

func (f *fakeIdP) discovery(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !f.knownTenant(tenant) && !IsMultiTenant(tenant) {
		entraError(w, 400, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
		return
	}
	writeJSON(w, 200, f.metadata(tenant))
}

func (f *fakeIdP) token(w http.ResponseWriter, r *http.Request, v1 bool) {
	if err := r.ParseForm(); err != nil {
		entraError(w, 400, "invalid_request", 900144, "The request body must contain the parameter: 'grant_type'.")
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, formRecord{path: r.URL.Path, form: r.PostForm})
	f.mu.Unlock()

	if r.PostForm.Get("grant_type") != "client_credentials" && r.PostForm.Get("client_id") == testCLIClientID {
		f.userToken(w, r, v1)
		return
	}
	if !f.knownTenant(r.PathValue("tenant")) {
		entraError(w, 400, "invalid_request", 90002, "Tenant not found.")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") != testClientID {
		entraError(w, 400, "unauthorized_client", 700016, "Application not found in the directory.")
		return
	}
	if msg, ok := f.authenticate(r); !ok {
		entraError(w, 401, "invalid_client", 7000215, msg)
		return
	}
	if v1 && r.PostForm.Get("resource") == "" || !v1 && r.PostForm.Get("scope") == "" {
		entraError(w, 400, "invalid_request", 900144, "The request body must contain the parameter: 'scope'.")
		return
	}

	f.mu.Lock()
	f.requests++
	n, expiresIn := f.requests, f.expiresIn
	f.mu.Unlock()
	access := fmt.Sprintf("token-%d", n)
	if v1 {
		// Entra's v1 endpoint sends its numbers as strings.
		writeJSON(w, 200, map[string]any{
			"token_type":     "Bearer",
			"expires_in":     fmt.Sprint(expiresIn),
			"ext_expires_in": fmt.Sprint(expiresIn),
			"expires_on":     fmt.Sprint(time.Now().Unix() + int64(expiresIn)),
			"not_before":     fmt.Sprint(time.Now().Unix()),
			"resource":       r.PostForm.Get("resource"),
			"access_token":   access,
		})
		return
	}
	writeJSON(w, 200, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     expiresIn,
		"ext_expires_in": expiresIn,
		"access_token":   access,
	})
}

// authenticate checks a client secret, or a client assertion as Entra does
// (RFC 7523 §3): signed by the registered certificate, named by x5t,
// iss = sub = client id, aud = this token endpoint, a fresh jti.
func (f *fakeIdP) authenticate(r *http.Request) (string, bool) {
	form := r.PostForm
	if s := form.Get("client_secret"); s != "" {
		if s != testSecret {
			msg := "Invalid client secret provided."
			if f.echo {
				msg += " You sent '" + s + "'."
			}
			return msg, false
		}
		return "", true
	}
	if form.Get("client_assertion_type") != ClientAssertionType {
		return "The request body must contain client_secret or client_assertion.", false
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "Client assertion is not a JWT: " + err.Error(), false
	}
	f.mu.Lock()
	cert := f.cert
	f.mu.Unlock()
	if cert == nil || tok.Headers[0].ExtraHeaders["x5t"] != (&Certificate{Leaf: cert}).Thumbprint() {
		return "Client assertion contains an invalid signature.", false
	}
	var c jwt.Claims
	if err := tok.Claims(cert.PublicKey, &c); err != nil {
		return "Client assertion contains an invalid signature.", false
	}
	aud := "https://" + r.Host + r.URL.Path
	switch {
	case c.Issuer != testClientID || c.Subject != testClientID:
		return "iss and sub must be the client id.", false
	case !c.Audience.Contains(aud):
		return fmt.Sprintf("The audience %v is invalid; want %s.", c.Audience, aud), false
	case c.Expiry == nil || c.IssuedAt == nil || c.NotBefore == nil || c.Expiry.Time().Sub(c.IssuedAt.Time()) > 10*time.Minute:
		return "The assertion's lifetime is missing or longer than 10 minutes.", false
	case c.ID == "":
		return "The assertion has no jti.", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jtis[c.ID] {
		return "The assertion was replayed.", false
	}
	f.jtis[c.ID] = true
	return "", true
}

// caFile writes the fake's TLS certificate as a PEM CA file, the way the
// real server hands its local CA to the user.
func (f *fakeIdP) caFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(p, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// newClientCert makes a self-signed RSA certificate and writes it with its
// key to a PEM file, as `--certificate` takes it.
func newClientCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tessera-test-client"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "client.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, p
}

// testClock is a settable clock for expiry tests.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
