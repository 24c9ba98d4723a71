package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tessera-id/tessera/internal/account"
)

const (
	lfUserOID  = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"
	lfUsername = "alice@contoso.example"
	lfPassword = "correct horse battery"
)

// lfUser is the fake's side for people, as tessera answers them: the
// password, device code and refresh token grants (rotating), an
// authorize endpoint that approves at once, revocation and JWKS. The
// account package tests the protocol's corners; these tests what the
// commands make of it.
type lfUser struct {
	key        *rsa.PrivateKey
	n          int
	refreshes  int
	live       map[string]bool // refresh tokens that work
	revoked    []string
	devicePlan []string
	codes      map[string]string // code → nonce
}

func (f *loginFake) registerUser(t *testing.T, mux *http.ServeMux) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.user = lfUser{key: key, live: map[string]bool{}, codes: map[string]string{}}
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		lfJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", func(w http.ResponseWriter, r *http.Request) {
		lfJSON(w, 200, map[string]any{"device_code": "dev", "user_code": "BCDF-GHJK", "verification_uri": f.srv.URL + "/device",
			"expires_in": 900, "interval": 5,
			"message": "To sign in, use a web browser to open the page " + f.srv.URL + "/device and enter the code BCDF-GHJK to authenticate."})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.user.revoked = append(f.user.revoked, r.PostForm.Get("token"))
		delete(f.user.live, r.PostForm.Get("token"))
	})
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		f.user.n++
		code := fmt.Sprintf("code-%d", f.user.n)
		f.user.codes[code] = q.Get("nonce")
		f.mu.Unlock()
		back := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {f.srv.URL + "/" + lfTenantID + "/v2.0"}}
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
	})
}

func (f *loginFake) userGrant(w http.ResponseWriter, r *http.Request, v1 bool) {
	form := r.PostForm
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &f.user
	nonce := ""
	switch form.Get("grant_type") {
	case "password":
		if form.Get("username") != lfUsername || form.Get("password") != lfPassword {
			lfError(w, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
			return
		}
	case account.DeviceCodeGrantType:
		if len(u.devicePlan) > 0 {
			code := u.devicePlan[0]
			u.devicePlan = u.devicePlan[1:]
			lfError(w, 400, code, 70016, "Device flow: "+code)
			return
		}
	case "authorization_code":
		var ok bool
		if nonce, ok = u.codes[form.Get("code")]; !ok {
			lfError(w, 400, "invalid_grant", 70008, "The code was already used.")
			return
		}
		delete(u.codes, form.Get("code"))
	case "refresh_token":
		if !u.live[form.Get("refresh_token")] {
			lfError(w, 400, "invalid_grant", 700082, "The refresh token has expired due to inactivity.")
			return
		}
		delete(u.live, form.Get("refresh_token")) // rotation, as tessera does
		u.refreshes++
	default:
		lfError(w, 400, "unsupported_grant_type", 70003, "Unsupported grant type.")
		return
	}
	u.n++
	rt := fmt.Sprintf("rt-%d", u.n)
	u.live[rt] = true
	now := f.c.clock()
	claims := map[string]any{"iss": f.srv.URL + "/" + lfTenantID + "/v2.0", "aud": account.DefaultClientID, "tid": lfTenantID,
		"oid": lfUserOID, "sub": "s", "preferred_username": lfUsername, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: u.key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	idt, _ := jwt.Signed(signer).Claims(claims).Serialize()
	f.tokens++
	f.paths = append(f.paths, r.URL.Path)
	resp := map[string]any{"token_type": "Bearer", "access_token": fmt.Sprintf("user-token-%d", u.n), "expires_in": 3599,
		"refresh_token": rt, "id_token": idt,
		"client_info": base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + lfUserOID + `","utid":"` + lfTenantID + `"}`))}
	if v1 {
		resp["expires_in"] = "3599"
	}
	lfJSON(w, 200, resp)
}

func (f *loginFake) userLogin(t *testing.T) {
	t.Helper()
	if _, stderr, err := f.c.run("login", "-u", lfUsername, "-p", lfPassword, "--tenant", "default",
		"--authority", f.srv.URL, "--ca-file", f.ca); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr)
	}
}

func TestLoginUserPrintsAzAccount(t *testing.T) {
	c := clientEnv(t)
	dir := c.dir
	f := newLoginFake(c)
	stdout, _, err := c.run("login", "-u", lfUsername, "-p", lfPassword, "--tenant", "default",
		"--authority", f.srv.URL, "--ca-file", f.ca)
	if err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "cloudName": "Tessera",
    "homeTenantId": "` + lfTenantID + `",
    "id": "` + lfTenantID + `",
    "isDefault": true,
    "managedByTenants": [],
    "name": "N/A(tenant level account)",
    "state": "Enabled",
    "tenantId": "` + lfTenantID + `",
    "user": {
      "name": "` + lfUsername + `",
      "type": "user"
    }
  }
]
`
	if stdout != want {
		t.Errorf("login printed\n%s\nwant\n%s", stdout, want)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "profiles.json"))
	if strings.Contains(string(raw), lfPassword) {
		t.Error("the password was stored")
	}
	fi, err := os.Stat(filepath.Join(dir, "tokens.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens.json (holding the refresh token): %v; want mode 0600", err)
	}
}

func TestLoginUserWrongPasswordExits4(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	_, _, err := c.run("login", "-u", lfUsername, "-p", "wrong horse", "--tenant", "default", "--authority", f.srv.URL, "--ca-file", f.ca)
	if ExitCode(err) != ExitAuth || !strings.Contains(err.Error(), "AADSTS50126") || strings.Contains(err.Error(), "wrong horse") {
		t.Fatalf("err = %v (exit %d), want exit 4 with the server's sentence and no password", err, ExitCode(err))
	}
}

// az prints the device code message on stderr, so that stdout stays the
// account JSON a script reads.
func TestLoginDeviceCodeMessageOnStderr(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.user.devicePlan = []string{"authorization_pending", "authorization_pending"}
	stdout, stderr, err := c.run("login", "--use-device-code", "--tenant", "default", "--authority", f.srv.URL, "--ca-file", f.ca,
		"--query", "[0].user.name", "-o", "tsv")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != lfUsername+"\n" {
		t.Errorf("stdout %q", stdout)
	}
	if !strings.HasPrefix(stderr, "To sign in, use a web browser to open the page ") || !strings.Contains(stderr, "BCDF-GHJK") {
		t.Errorf("stderr %q: want the server's message", stderr)
	}
}

// The browser is a hook: here an HTTP client that follows the
// authorization URL to the loopback redirect.
func TestLoginBrowser(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	c.deps.OpenBrowser = func(ctx context.Context, u string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	stdout, stderr, err := c.run("login", "--tenant", "default", "--authority", f.srv.URL, "--ca-file", f.ca, "--query", "[0].user.type", "-o", "tsv")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if stdout != "user\n" || !strings.Contains(stderr, "A web browser has been opened") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
}

// get-access-token serves the user's tokens from the refresh token, caches
// them, refreshes after expiry, and asks to log in again when the refresh
// token is refused.
func TestGetAccessTokenForUser(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.userLogin(t)
	args := []string{"account", "get-access-token", "--scope", "api://orders/.default", "--query", "accessToken", "-o", "tsv"}
	first, _, err := c.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	if again, _, _ := c.run(args...); again != first || f.user.refreshes != 1 {
		t.Errorf("second call %q after %d refreshes, want the cached %q", again, f.user.refreshes, first)
	}
	c.setNow(clientTestNow.Add(2 * time.Hour))
	later, _, err := c.run(args...)
	if err != nil || later == first || f.user.refreshes != 2 {
		t.Errorf("after expiry: %q, %v after %d refreshes; want a fresh token", later, err, f.user.refreshes)
	}
	// The same refresh token is good for a v1 resource.
	if _, _, err := c.run("account", "get-access-token", "--resource", "api://legacy"); err != nil {
		t.Error(err)
	}

	f.mu.Lock()
	clear(f.user.live) // the server revoked the sign-in
	f.mu.Unlock()
	_, _, err = c.run("account", "get-access-token", "--scope", "api://other/.default")
	if ExitCode(err) != ExitAuth || !strings.Contains(err.Error(), "AADSTS700082") || !strings.Contains(err.Error(), "tessera login --tenant "+lfTenantID) {
		t.Fatalf("after revocation: %v (exit %d), want exit 4 saying how to log in again", err, ExitCode(err))
	}
}

func TestRestWithUserToken(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.userLogin(t)
	stdout, _, err := c.run("rest", "--url", "/api/echo", "--scope", "api://orders/.default", "--query", "authorization", "-o", "tsv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout, "Bearer user-token-") {
		t.Errorf("rest sent %q", stdout)
	}
}

// account set picks the default by user name or tenant; a service
// principal and a person coexist.
func TestAccountSet(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.userLogin(t)
	f.login(t) // the service principal is now the default
	name := func() string {
		out, _, err := c.run("account", "show", "--query", "user.name", "-o", "tsv")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	if got := name(); got != lfClientID {
		t.Fatalf("default %q, want the service principal", got)
	}
	if _, _, err := c.run("account", "set", "--subscription", strings.ToUpper(lfUsername)); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != lfUsername {
		t.Errorf("after set by user name: %q", got)
	}
	if _, _, err := c.run("account", "set", "-n", lfClientID); err != nil || name() != lfClientID {
		t.Errorf("set by client id: %v, default %q", err, name())
	}
	// Both accounts are in the tenant: the tenant is ambiguous.
	if _, _, err := c.run("account", "set", "-s", "default"); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "give the user name") {
		t.Errorf("ambiguous tenant: %v", err)
	}
	if _, _, err := c.run("account", "set", "-s", "fabrikam"); ExitCode(err) != ExitNotFound {
		t.Errorf("unknown: %v, want exit %d", err, ExitNotFound)
	}
	if _, _, err := c.run("account", "set"); ExitCode(err) != ExitUsage {
		t.Errorf("no flag: %v, want exit %d", err, ExitUsage)
	}
	out, _, _ := c.run("account", "list", "--query", "[].[user.type, isDefault]", "-o", "tsv")
	if out != "user\tFalse\nservicePrincipal\tTrue\n" { // az prints Python booleans
		t.Errorf("list:\n%s", out)
	}
}

// logout revokes the refresh token at the advertised endpoint and forgets
// the account; the revoked token no longer refreshes.
func TestLogoutUserRevokes(t *testing.T) {
	c := clientEnv(t)
	dir := c.dir
	f := newLoginFake(c)
	f.userLogin(t)
	raw, _ := os.ReadFile(filepath.Join(dir, "tokens.json"))
	var doc struct {
		RefreshTokens map[string]struct{ Secret string } `json:"refreshTokens"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.RefreshTokens) != 1 {
		t.Fatalf("tokens.json: %v %s", err, raw)
	}
	var rt string
	for _, e := range doc.RefreshTokens {
		rt = e.Secret
	}
	if _, stderr, err := c.run("logout", "--username", lfUsername); err != nil || stderr != "" {
		t.Fatalf("logout: %v %q", err, stderr)
	}
	if len(f.user.revoked) != 1 || f.user.revoked[0] != rt {
		t.Errorf("revoked %v, want [%s]", f.user.revoked, rt)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, "tokens.json"))
	if strings.Contains(string(raw), rt) {
		t.Error("the refresh token survived logout")
	}
	if _, _, err := c.run("account", "show"); ExitCode(err) != ExitAuth {
		t.Errorf("after logout: %v", err)
	}
}

// A server that cannot be reached does not keep the account stored.
func TestLogoutWarnsWhenRevocationFails(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.userLogin(t)
	f.srv.Close()
	_, stderr, err := c.run("logout")
	if err != nil || !strings.Contains(stderr, "warning: "+lfUsername+" is logged out here, but its sign-in was not revoked") {
		t.Fatalf("logout: %v, stderr %q", err, stderr)
	}
	if _, _, err := c.run("account", "show"); ExitCode(err) != ExitAuth {
		t.Errorf("after logout: %v", err)
	}
}
