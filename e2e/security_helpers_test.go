package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// The security_*_test.go files check RFC 9700 (OAuth 2.0 Security Best
// Current Practice) one area per file, each a table whose rows name the
// section they check. SECURITY.md lists every rule with its row. They
// share the directory below: one server per area, so an area runs in
// about a second.

const (
	secNativeRedirect = "http://localhost:8400/callback" // public client, loopback (RFC 8252 §7.3)
	secWebRedirect    = "https://app.example/cb"         // confidential client
	secScope          = "openid profile offline_access api://studies/read"
	secVerifier       = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFjbkl8"
)

// secChallenge is secVerifier's S256 code challenge.
var secChallenge = s256(secVerifier)

// secEnv is a server with an API, a public and a confidential client, and
// alice, who consented (by an administrator) to both clients' scopes.
type secEnv struct {
	h         *harness
	tid       string
	api       directory.Application
	native    directory.Application
	web       directory.Application
	webSecret string
	alice     directory.User
}

func newSecEnv(t *testing.T) *secEnv {
	t.Helper()
	h := start(t)
	e := &secEnv{h: h, tid: h.tenant()}
	e.populate(t, e.tid)
	return e
}

// populate registers the env's applications and alice in tenantID. The
// first call (the home tenant) makes the env's own; a second tenant gets
// applications of its own ids, since an application id belongs to one
// tenant only (issue 13).
func (e *secEnv) populate(t *testing.T, tenantID string) (api, native, web directory.Application, secret string) {
	t.Helper()
	ctx := context.Background()
	d := e.h.srv.Directory
	app := func(spec directory.ApplicationSpec) directory.Application {
		a, err := d.CreateApplication(ctx, tenantID, spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateServicePrincipal(ctx, tenantID, directory.ServicePrincipalSpec{AppID: a.AppID}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	api = app(directory.ApplicationSpec{DisplayName: "Studies API", IdentifierURIs: []string{"api://studies"},
		Scopes: []directory.Scope{{Value: "read", Enabled: true}}})
	native = app(directory.ApplicationSpec{DisplayName: "Studies desktop", PublicClient: true, RedirectURIs: []string{secNativeRedirect}})
	web = app(directory.ApplicationSpec{DisplayName: "Studies web", RedirectURIs: []string{secWebRedirect}})
	_, secret, err := d.AddSecret(ctx, tenantID, web.AppID, directory.SecretSpec{})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := d.CreateUser(ctx, tenantID, directory.UserSpec{UserPrincipalName: "alice", DisplayName: "Alice", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{native.AppID, web.AppID} {
		e.consentAll(t, tenantID, c)
	}
	if e.api.AppID == "" {
		e.api, e.native, e.web, e.webSecret, e.alice = api, native, web, secret, alice
	}
	return api, native, web, secret
}

// consentAll gives client an administrator's consent to secScope in
// tenantID.
func (e *secEnv) consentAll(t *testing.T, tenantID, client string) {
	t.Helper()
	ctx := context.Background()
	d := e.h.srv.Directory
	q, err := d.ParseScopes(ctx, tenantID, secScope, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Consent(ctx, tenantID, client, directory.AllPrincipals, q); err != nil {
		t.Fatal(err)
	}
}

// The twin clients: the only application ids two tenants may both hold
// are the well-known ones, which tessera registers in every tenant. Tests
// of what binds a value to its tenant use them, so that the other tenant
// knows the client and only the binding can refuse: the CLI's public
// client (a loopback redirect on any port, RFC 8252 §7.3) and the
// management application as a confidential client.
const (
	secTwinPublic       = directory.CLIClientID
	secTwinConfidential = directory.ManagementAppID
	secTwinRedirect     = "http://localhost:8400/"
)

// twin consents the CLI's client to secScope in tenantID and gives the
// management application there a secret (returned) and, with key, a
// certificate.
func (e *secEnv) twin(t *testing.T, tenantID string, key *rsa.PrivateKey) (secret string) {
	t.Helper()
	ctx := context.Background()
	d := e.h.srv.Directory
	e.consentAll(t, tenantID, secTwinPublic)
	_, secret, err := d.AddSecret(ctx, tenantID, secTwinConfidential, directory.SecretSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if key != nil {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "twin"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.AddCertificate(ctx, tenantID, secTwinConfidential,
			directory.CertificateSpec{Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}); err != nil {
			t.Fatal(err)
		}
	}
	return secret
}

// twinAuthorize are the authorization parameters of the twin public
// client (for authorizeURL's set).
func twinAuthorize(set url.Values) url.Values {
	q := url.Values{"client_id": {secTwinPublic}, "redirect_uri": {secTwinRedirect}}
	for k, v := range set {
		q[k] = v
	}
	return q
}

// twinRedeem is the twin public client's code redemption.
func (e *secEnv) twinRedeem(code string) url.Values {
	f := e.redeemForm(code)
	f.Set("client_id", secTwinPublic)
	f.Set("redirect_uri", secTwinRedirect)
	return f
}

// authorizeURL is an authorization request of the native client with
// PKCE, changed by set: a key set to "" is left out.
func (e *secEnv) authorizeURL(tenant string, set url.Values) string {
	q := url.Values{"client_id": {e.native.AppID}, "redirect_uri": {secNativeRedirect}, "response_type": {"code"},
		"scope": {secScope}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {secChallenge}, "code_challenge_method": {"S256"}}
	for k, v := range set {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return e.h.srv.URL + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode()
}

// signedIn returns a browser in which alice has signed in to tenant (it
// carries the single sign-on cookie), so that later authorization
// requests come straight back with a code.
func (e *secEnv) signedIn(t *testing.T, tenant string) *browser {
	t.Helper()
	b := e.h.newBrowser(t)
	p, next := b.get(e.authorizeURL(tenant, nil))
	if _, next = b.walk(p, next, "alice", alicePassword); next == nil || next.Query().Get("code") == "" {
		t.Fatalf("sign-in to %s did not come back with a code: %v", tenant, next)
	}
	return b
}

// sessionOf returns a fresh browser holding only from's single sign-on
// cookies: signed in, but with CSRF state of its own.
func (e *secEnv) sessionOf(t *testing.T, from *browser) *browser {
	t.Helper()
	b := e.h.newBrowser(t)
	base, _ := url.Parse(e.h.srv.URL)
	for _, c := range from.c.Jar.Cookies(base) {
		if strings.Contains(c.Name, "tessera_sso_") {
			b.c.Jar.SetCookies(base, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/", Secure: true}})
		}
	}
	return b
}

// code asks for a code in a signed-in browser with the request changed by
// set, and returns the redirect's query.
func (e *secEnv) code(t *testing.T, b *browser, tenant string, set url.Values) url.Values {
	t.Helper()
	p, next := b.get(e.authorizeURL(tenant, set))
	if next == nil {
		t.Fatalf("authorize showed the %q page (status %d): %s", p.kind, p.status, p.message())
	}
	return next.Query()
}

// redeemForm is the native client's code redemption with the verifier.
func (e *secEnv) redeemForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.AppID}, "code": {code},
		"redirect_uri": {secNativeRedirect}, "code_verifier": {secVerifier}}
}

func (e *secEnv) tokenPath(tenant string) string { return "/" + tenant + "/oauth2/v2.0/token" }

// token posts a token request to tenant's v2 endpoint.
func (e *secEnv) token(tenant string, form url.Values) (int, map[string]any) {
	e.h.t.Helper()
	status, body, _ := e.h.postForm(e.tokenPath(tenant), form, "", "")
	return status, body
}

// wantOAuthError fails unless the answer is the OAuth error code with status.
func wantOAuthError(t *testing.T, status int, body map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || body["error"] != code {
		t.Fatalf("got %d %s, want %d %s", status, shortBody(body), wantStatus, code)
	}
}

// wantTokens fails unless the token request succeeded.
func wantTokens(t *testing.T, status int, body map[string]any) {
	t.Helper()
	if status != 200 || body["access_token"] == nil {
		t.Fatalf("got %d %s, want tokens", status, shortBody(body))
	}
}

// shortBody is a token response for a failure message: the error, or that
// tokens came, never the tokens themselves.
func shortBody(body map[string]any) string {
	if body["error"] != nil {
		return fmt.Sprintf("%v: %v", body["error"], body["error_description"])
	}
	if body["access_token"] != nil {
		return "tokens"
	}
	return fmt.Sprint(body)
}

// s256 is a PKCE challenge for verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// hasDirective reports whether a CSP header has directive with value.
func hasDirective(csp, directive, value string) bool {
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) == 2 && f[0] == directive && f[1] == value {
			return true
		}
	}
	return false
}

// fetch sends one request in the browser, follows nothing, and returns
// the response with its body read, for checks on headers.
func (b *browser) fetch(method, rawURL string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// getJSON GETs a JSON document from the server.
func getJSON(t *testing.T, h *harness, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
	status, body, _ := h.do(req)
	if status != 200 {
		t.Fatalf("GET %s: %d %v", path, status, body)
	}
	return body
}

// getRaw GETs a document from the server and returns its body.
func getRaw(t *testing.T, h *harness, path string) []byte {
	t.Helper()
	resp, err := h.http.Get(h.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	return raw
}
