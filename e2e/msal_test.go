package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"golang.org/x/oauth2"

	"github.com/tessera-id/tessera/examples/studies"
	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/directory"
)

// Microsoft's MSAL for Go (apps/confidential, apps/public), unchanged,
// against tessera: the authority is https://127.0.0.1:PORT/{tenant}, and
// instance discovery is off because it asks login.microsoftonline.com
// about the host. Everything else MSAL finds in the v2 discovery document.

// msalAuthority is the authority MSAL is configured with: the tenant's
// base URL, as https://login.microsoftonline.com/{tenant} is against Entra.
func msalAuthority(h *harness) string { return h.srv.URL + "/" + h.tenant() }

// studiesAPI serves the example API behind a guard for audience and
// returns its base URL.
func studiesAPI(t *testing.T, h *harness, audience string) string {
	t.Helper()
	g, err := guard.New(context.Background(), guard.Config{
		Authority: h.srv.URL + "/" + h.tenant() + "/v2.0", Audiences: []string{audience}, HTTPClient: h.http,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	api := httptest.NewServer(studies.NewHandler(g))
	t.Cleanup(api.Close)
	return api.URL
}

// callAPI sends GET base+path with the token and returns the status and
// the decoded body.
func callAPI(t *testing.T, base, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	json.Unmarshal(raw, &body)
	return resp.StatusCode, body
}

// wantClaims fails for every claim of the token that differs from want.
func wantClaims(t *testing.T, what, raw string, want map[string]any) map[string]any {
	t.Helper()
	c := claimsOf(t, raw)
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s: %s = %v, want %v", what, k, c[k], v)
		}
	}
	return c
}

func wantRoles(t *testing.T, what string, c map[string]any, roles ...string) {
	t.Helper()
	got, _ := c["roles"].([]any)
	if len(got) != len(roles) {
		t.Errorf("%s: roles %v, want %v", what, c["roles"], roles)
		return
	}
	for i := range roles {
		if got[i] != roles[i] {
			t.Errorf("%s: roles %v, want %v", what, c["roles"], roles)
		}
	}
}

// certWithPlusOrSlash makes a self-signed RSA certificate whose SHA-256
// thumbprint, in the standard base64 alphabet MSAL writes into x5t#S256,
// has a '+' or '/': the characters where it differs from base64url
// (RFC 7515 §4.1.8 says base64url). About three certificates in four are
// such; the loop makes the test exercise that case every time.
func certWithPlusOrSlash(t *testing.T) (*rsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for serial := int64(1); serial < 100; serial++ {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "msal-client"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(der)
		if strings.ContainsAny(base64.StdEncoding.EncodeToString(sum[:]), "+/") {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
	}
	t.Fatal("no certificate with '+' or '/' in its thumbprint in 99 tries")
	return nil, nil, nil
}

// TestMSALConfidentialClient: client credentials through MSAL's
// confidential client, with a secret and with a certificate
// (private_key_jwt, PS256 and x5t#S256 as MSAL signs it); the second
// request is served from MSAL's cache.
func TestMSALConfidentialClient(t *testing.T) {
	h := start(t)
	a := setupApps(t, h)
	ctx := context.Background()
	tid := h.tenant()
	scopes := []string{"api://" + a.api + "/.default"}
	api := studiesAPI(t, h, "api://"+a.api)

	key, cert, certPEM := certWithPlusOrSlash(t)
	certFile := filepath.Join(t.TempDir(), "client.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	h.admin(h.adminToken(), "cert", "add", "--id", a.client, "--cert", certFile)

	secretCred, err := confidential.NewCredFromSecret(a.clientSecret)
	if err != nil {
		t.Fatal(err)
	}
	certCred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		cred   confidential.Credential
		azpacr string // 1: secret, 2: certificate
	}{
		{"secret", secretCred, "1"},
		{"certificate", certCred, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, err := confidential.New(msalAuthority(h), a.client, tc.cred,
				confidential.WithHTTPClient(h.http), confidential.WithInstanceDiscovery(false))
			if err != nil {
				t.Fatal(err)
			}
			res, err := app.AcquireTokenByCredential(ctx, scopes)
			if err != nil {
				t.Fatalf("AcquireTokenByCredential: %v", err)
			}
			if res.Metadata.TokenSource != confidential.TokenSourceIdentityProvider || res.ExpiresOn.Before(time.Now().Add(50*time.Minute)) {
				t.Errorf("first token: source %v, expires %v", res.Metadata.TokenSource, res.ExpiresOn)
			}
			c := wantClaims(t, "app token", res.AccessToken, map[string]any{"aud": a.api, "tid": tid, "azp": a.client,
				"azpacr": tc.azpacr, "idtyp": "app", "ver": "2.0", "iss": h.srv.URL + "/" + tid + "/v2.0"})
			wantRoles(t, "app token", c, "Reader")
			if _, ok := c["scp"]; ok {
				t.Error("an app-only token carries scp")
			}
			again, err := app.AcquireTokenByCredential(ctx, scopes)
			if err != nil || again.Metadata.TokenSource != confidential.TokenSourceCache || again.AccessToken != res.AccessToken {
				t.Errorf("second request: %v, source %v, same token %v", err, again.Metadata.TokenSource, again.AccessToken == res.AccessToken)
			}
			if status, body := callAPI(t, api, "/api/v1/as-user/studies?offset=0&limit=3", res.AccessToken); status != 200 {
				t.Errorf("studies API: %d %v", status, body)
			}
			h.assertNotLogged(res.AccessToken)
		})
	}
	h.assertNotLogged(a.clientSecret)
}

// memoryCache is MSAL's external cache (cache.ExportReplace) in memory,
// so that the test can see which refresh token MSAL holds.
type memoryCache struct {
	mu   sync.Mutex
	data []byte
}

func (m *memoryCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil
	}
	return u.Unmarshal(m.data)
}

func (m *memoryCache) Export(_ context.Context, c cache.Marshaler, _ cache.ExportHints) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := c.Marshal()
	m.data = b
	return err
}

// refreshTokens are the refresh tokens in the cache.
func (m *memoryCache) refreshTokens(t *testing.T) []string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var doc struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		}
	}
	if err := json.Unmarshal(m.data, &doc); err != nil {
		t.Fatalf("MSAL's cache: %v", err)
	}
	var out []string
	for _, rt := range doc.RefreshToken {
		out = append(out, rt.Secret)
	}
	return out
}

// msalUser is the scenario of the public-client tests: the user apps, a
// second API alice may use, and MSAL's public client for the native app.
type msalUser struct {
	userApps
	reports directory.Application // api://reports: scope read; no role for alice
	cache   *memoryCache
	app     public.Client
}

func setupMSALUser(t *testing.T, h *harness) msalUser {
	t.Helper()
	ctx := context.Background()
	m := msalUser{userApps: setupUserApps(t, h), cache: &memoryCache{}}
	var err error
	m.reports, err = h.srv.Directory.CreateApplication(ctx, h.tenant(), directory.ApplicationSpec{DisplayName: "Reports API",
		IdentifierURIs: []string{"api://reports"}, Scopes: []directory.Scope{{Value: "read", Enabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Directory.CreateServicePrincipal(ctx, h.tenant(), directory.ServicePrincipalSpec{AppID: m.reports.AppID}); err != nil {
		t.Fatal(err)
	}
	// ROPC and silent requests for a new resource have no page to ask
	// consent on: an administrator consents for everyone.
	m.adminConsent(t, h, "openid profile offline_access api://studies/read api://studies/write api://reports/read")
	// Rotation without grace: a refresh token MSAL presented once must
	// never be presented again (RFC 9700 §4.14.2), or the family dies.
	if _, err := h.srv.Directory.SetTenantPolicy(ctx, h.tenant(), directory.TenantPolicy{RefreshGrace: -1}); err != nil {
		t.Fatal(err)
	}
	m.app, err = public.New(m.native.AppID, public.WithAuthority(msalAuthority(h)), public.WithHTTPClient(h.http),
		public.WithInstanceDiscovery(false), public.WithCache(m.cache))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkUserResult checks what MSAL made of a user token response: the
// account from client_info and the id_token, and the access token's
// claims for resource with scp.
func (m msalUser) checkUserResult(t *testing.T, h *harness, what string, res public.AuthResult, resource directory.Application, scp string) {
	t.Helper()
	tid := h.tenant()
	acct := res.Account
	if acct.HomeAccountID != m.alice.ObjectID+"."+tid || acct.LocalAccountID != m.alice.ObjectID || acct.Realm != tid ||
		acct.PreferredUsername != m.alice.UserPrincipalName || acct.Environment != strings.TrimPrefix(h.srv.URL, "https://") {
		t.Errorf("%s: account %+v; want home account %s.%s, username %s", what, acct, m.alice.ObjectID, tid, m.alice.UserPrincipalName)
	}
	if id := res.IDToken; id.Oid != m.alice.ObjectID || id.TenantID != tid || id.Audience != m.native.AppID ||
		id.PreferredUsername != m.alice.UserPrincipalName || id.Name != "Alice" || id.Issuer != h.srv.URL+"/"+tid+"/v2.0" {
		t.Errorf("%s: id token %+v", what, id)
	}
	wantClaims(t, what, res.AccessToken, map[string]any{"aud": resource.AppID, "tid": tid, "oid": m.alice.ObjectID,
		"scp": scp, "azp": m.native.AppID, "azpacr": "0", "ver": "2.0"})
}

// TestMSALPublicClient: a public client signs alice in by device code
// and by password, then AcquireTokenSilent serves the same scopes from
// the cache and redeems the refresh token for other scopes and another
// API, each time keeping the rotated refresh token.
func TestMSALPublicClient(t *testing.T) {
	h := start(t)
	m := setupMSALUser(t, h)
	ctx := context.Background()
	studiesScopes := []string{"api://studies/read"}
	studiesURL := studiesAPI(t, h, m.api.AppID)
	reportsURL := studiesAPI(t, h, m.reports.AppID)

	// Device code (RFC 8628): MSAL polls in one goroutine while alice
	// approves in a browser in this one.
	dc, err := m.app.AcquireTokenByDeviceCode(ctx, studiesScopes)
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceCode: %v", err)
	}
	if dc.Result.VerificationURL != h.srv.URL+"/"+h.tenant()+"/devicelogin" || dc.Result.UserCode == "" || !strings.Contains(dc.Result.Message, dc.Result.UserCode) {
		t.Errorf("device code result %+v", dc.Result)
	}
	type result struct {
		res public.AuthResult
		err error
	}
	polled := make(chan result, 1)
	go func() {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		res, err := dc.AuthenticationResult(pctx)
		polled <- result{res, err}
	}()
	h.approveDevice(t, dc.Result.UserCode, "alice", alicePassword)
	device := <-polled
	if device.err != nil {
		t.Fatalf("device code polling: %v", device.err)
	}
	m.checkUserResult(t, h, "device code", device.res, m.api, "read")
	wantRoles(t, "device code", claimsOf(t, device.res.AccessToken), "Reader")
	if status, body := callAPI(t, studiesURL, "/api/v1/as-user/studies?offset=0&limit=2", device.res.AccessToken); status != 200 {
		t.Errorf("studies API with the device-code token: %d %v", status, body)
	}

	// Username and password (ROPC). It replaces the device sign-in's
	// tokens in the cache: one account, one refresh token.
	//lint:ignore SA1019 the password grant is what this test proves works (the issue asks for it).
	ropc, err := m.app.AcquireTokenByUsernamePassword(ctx, studiesScopes, m.alice.UserPrincipalName, alicePassword)
	if err != nil {
		t.Fatalf("AcquireTokenByUsernamePassword: %v", err)
	}
	m.checkUserResult(t, h, "password", ropc, m.api, "read")
	accounts, err := m.app.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("accounts %v, %v", accounts, err)
	}
	acct := accounts[0]
	rts := m.cache.refreshTokens(t)
	if len(rts) != 1 {
		t.Fatalf("%d refresh tokens in MSAL's cache, want 1", len(rts))
	}

	// The same scopes: the cached access token, no request.
	cached, err := m.app.AcquireTokenSilent(ctx, studiesScopes, public.WithSilentAccount(acct))
	if err != nil || cached.Metadata.TokenSource != public.TokenSourceCache || cached.AccessToken != ropc.AccessToken {
		t.Fatalf("silent, same scopes: %v, source %v", err, cached.Metadata.TokenSource)
	}

	// Another API: the refresh token is redeemed for it (a refresh token
	// is not bound to one resource at Entra), and rotated.
	reports, err := m.app.AcquireTokenSilent(ctx, []string{"api://reports/read"}, public.WithSilentAccount(acct))
	if err != nil {
		t.Fatalf("silent, another API: %v", err)
	}
	if reports.Metadata.TokenSource != public.TokenSourceIdentityProvider {
		t.Errorf("silent, another API: source %v", reports.Metadata.TokenSource)
	}
	m.checkUserResult(t, h, "refresh for another API", reports, m.reports, "read")
	if _, ok := claimsOf(t, reports.AccessToken)["roles"]; ok {
		t.Error("a token for the reports API carries roles alice does not hold there")
	}
	rotated := m.cache.refreshTokens(t)
	if len(rotated) != 1 || rotated[0] == rts[0] {
		t.Fatalf("MSAL did not keep the rotated refresh token: %d tokens, unchanged %v", len(rotated), len(rotated) == 1 && rotated[0] == rts[0])
	}
	if status, body := callAPI(t, reportsURL, "/account/me", reports.AccessToken); status != 200 || body["objectId"] != m.alice.ObjectID {
		t.Errorf("reports API /account/me: %d %v", status, body)
	}

	// More scopes of the first API: MSAL must present the rotated token.
	// The grace window is off, so presenting the spent one would be
	// refused and end the whole sign-in.
	write, err := m.app.AcquireTokenSilent(ctx, []string{"api://studies/write"}, public.WithSilentAccount(acct))
	if err != nil {
		t.Fatalf("silent after rotation: %v", err)
	}
	m.checkUserResult(t, h, "refresh after rotation", write, m.api, "write")
	if again := m.cache.refreshTokens(t); len(again) != 1 || again[0] == rotated[0] {
		t.Errorf("the second rotation was not kept")
	}
	// And the reports token is still served from the cache.
	if r, err := m.app.AcquireTokenSilent(ctx, []string{"api://reports/read"}, public.WithSilentAccount(acct)); err != nil ||
		r.Metadata.TokenSource != public.TokenSourceCache || r.AccessToken != reports.AccessToken {
		t.Errorf("silent, reports again: %v, source %v", err, r.Metadata.TokenSource)
	}
	if status, body := callAPI(t, studiesURL, "/account/me", write.AccessToken); status != 200 || !slices.Contains(anyStrings(body["scopes"]), "write") {
		t.Errorf("studies API /account/me with the write token: %d %v", status, body)
	}
	h.assertNotLogged(alicePassword, device.res.AccessToken, ropc.AccessToken, reports.AccessToken, write.AccessToken, rts[0], rotated[0])
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestMSALAuthorizationCode: the web-app pattern, AuthCodeURL then
// AcquireTokenByAuthCode with the PKCE verifier, and the desktop pattern,
// AcquireTokenInteractive with its loopback server and form_post, for
// the Azure CLI's client id.
func TestMSALAuthorizationCode(t *testing.T) {
	h := start(t)
	m := setupMSALUser(t, h)
	ctx := context.Background()
	scopes := []string{"api://studies/read"}
	studiesURL := studiesAPI(t, h, m.api.AppID)

	t.Run("AuthCodeURL", func(t *testing.T) {
		// AuthCodeURL puts the scopes in the URL as given, while
		// AcquireTokenByAuthCode (and AcquireTokenInteractive, for both
		// legs) adds openid, offline_access and profile. tessera issues
		// what the authorization request was granted, so without them
		// here the code yields an access token but no id_token (no
		// Account) and no refresh token.
		authURL, err := m.app.AuthCodeURL(ctx, m.native.AppID, m.redirect, append([]string{"openid", "offline_access", "profile"}, scopes...))
		if err != nil {
			t.Fatalf("AuthCodeURL: %v", err)
		}
		// Nor has AuthCodeURL an option for the PKCE challenge (only
		// AcquireTokenInteractive makes one): a caller adds it, and the
		// state, to the URL, and passes the verifier to
		// AcquireTokenByAuthCode as WithChallenge.
		verifier, state := oauth2.GenerateVerifier(), randomString(t)
		u, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if !strings.HasPrefix(authURL, h.srv.URL+"/"+h.tenant()+"/oauth2/v2.0/authorize?") || !strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("AuthCodeURL %s", authURL)
		}
		q.Set("state", state)
		q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		q.Set("code_challenge_method", "S256")
		u.RawQuery = q.Encode()
		back := h.authorizeWithPassword(t, u.String(), "alice", alicePassword)
		if back.Query().Get("state") != state || back.Query().Get("code") == "" {
			t.Fatalf("redirect %s", back)
		}
		res, err := m.app.AcquireTokenByAuthCode(ctx, back.Query().Get("code"), m.redirect, scopes, public.WithChallenge(verifier))
		if err != nil {
			t.Fatalf("AcquireTokenByAuthCode: %v", err)
		}
		m.checkUserResult(t, h, "authorization code", res, m.api, "read")
		if status, body := callAPI(t, studiesURL, "/api/v1/as-user/studies?offset=0&limit=2", res.AccessToken); status != 200 {
			t.Errorf("studies API: %d %v", status, body)
		}
		accounts, _ := m.app.Accounts(ctx)
		if len(accounts) != 1 {
			t.Fatalf("accounts %v", accounts)
		}
		if c, err := m.app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0])); err != nil || c.Metadata.TokenSource != public.TokenSourceCache {
			t.Errorf("silent after the code: %v", err)
		}
	})

	t.Run("AcquireTokenInteractive", func(t *testing.T) {
		cli, err := public.New(directory.CLIClientID, public.WithAuthority(msalAuthority(h)), public.WithHTTPClient(h.http),
			public.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		// The "browser": signs in through the pages and delivers the
		// form_post answer to MSAL's loopback server, as a browser would.
		open := func(authURL string) error {
			back := h.authorizeWithPassword(t, authURL, "alice", alicePassword)
			form := back.Query()
			back.RawQuery = ""
			resp, err := http.PostForm(back.String(), form)
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		}
		res, err := cli.AcquireTokenInteractive(ctx, scopes, public.WithOpenURL(open))
		if err != nil {
			t.Fatalf("AcquireTokenInteractive: %v", err)
		}
		wantClaims(t, "interactive", res.AccessToken, map[string]any{"aud": m.api.AppID, "scp": "read", "azp": directory.CLIClientID, "oid": m.alice.ObjectID})
		if res.Account.HomeAccountID != m.alice.ObjectID+"."+h.tenant() || res.Account.PreferredUsername != m.alice.UserPrincipalName {
			t.Errorf("interactive account %+v", res.Account)
		}
		if status, body := callAPI(t, studiesURL, "/api/v1/as-user/studies?offset=0&limit=2", res.AccessToken); status != 200 {
			t.Errorf("studies API: %d %v", status, body)
		}
	})
}
