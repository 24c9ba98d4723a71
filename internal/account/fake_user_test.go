package account

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	testCLIClientID = DefaultClientID
	testUserOID     = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"
	testUsername    = "alice@contoso.example"
	testPassword    = "correct horse battery"
)

// userSide is the fake's half for people: authorize (approving at once,
// as if the person clicked through), device code, the password,
// authorization code, device code and refresh token grants, revocation and
// JWKS. By default it behaves as tessera does (rotating refresh tokens,
// iss on authorization responses, a revocation endpoint); entra makes it
// behave as Entra does (no iss, no revocation endpoint, refresh tokens
// that stay valid).
type userSide struct {
	key   *rsa.PrivateKey
	other *rsa.PrivateKey // a key the JWKS does not publish
	clock func() time.Time

	entra       bool
	noRotate    bool
	issOverride string // iss for authorization responses (a mix-up)
	omitIss     bool   // leave iss off although the metadata promises it
	deny        bool   // the person declines at the authorize page
	// mutateID changes an ID token's claims before it is signed, and may
	// return another key to sign it with.
	mutateID func(c map[string]any) *rsa.PrivateKey

	n           int
	codes       map[string]codeGrant
	devicePlan  []string // errors to answer polls with before success
	deviceLife  int
	deviceScope string
	devicePolls int
	refreshes   int // refresh grants answered with a token
	refresh     map[string]*rtState
	revoked     []url.Values
	consentless map[string]bool // scopes or resources the user never consented to
	authorize   url.Values      // the last authorize request's query
}

type codeGrant struct{ challenge, redirect, nonce, scope string }

type rtState struct{ used, revoked bool }

func (f *fakeIdP) registerUserSide(mux *http.ServeMux) {
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.t.Fatal(err)
	}
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.t.Fatal(err)
	}
	f.user = userSide{key: k1, other: k2, clock: time.Now, codes: map[string]codeGrant{}, refresh: map[string]*rtState{},
		consentless: map[string]bool{}, deviceLife: 900}
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", f.jwks)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", f.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", f.devicecode)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/revoke", f.revoke)
}

// metadata is the v2 discovery document of tenant, with Entra's template
// issuer for a multi-tenant alias.
func (f *fakeIdP) metadata(tenant string) map[string]any {
	tid, path := testTenantID, testTenantID
	if IsMultiTenant(tenant) {
		tid, path = "{tenantid}", tenant
	}
	base := f.srv.URL + "/" + path
	m := map[string]any{
		"issuer":                        f.srv.URL + "/" + tid + "/v2.0",
		"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
		"token_endpoint":                base + "/oauth2/v2.0/token",
		"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
		"jwks_uri":                      base + "/discovery/v2.0/keys",
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.user.entra {
		m["revocation_endpoint"] = base + "/oauth2/v2.0/revoke"
		m["authorization_response_iss_parameter_supported"] = true
	}
	return m
}

func (f *fakeIdP) issuer() string { return f.srv.URL + "/" + testTenantID + "/v2.0" }

func (f *fakeIdP) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.user.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

// signIDToken signs claims with key under kid k1.
func (f *fakeIdP) signIDToken(claims map[string]any, key *rsa.PrivateKey) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		f.t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

func (f *fakeIdP) idTokenClaims(nonce string) map[string]any {
	now := f.user.clock()
	c := map[string]any{
		"iss": f.issuer(), "aud": testCLIClientID, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"tid": testTenantID, "oid": testUserOID, "sub": "pairwise-sub", "preferred_username": testUsername, "name": "Alice",
		"ver": "2.0",
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return c
}

func (f *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user.authorize = q
	ru, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || ru.Scheme != "http" || (ru.Hostname() != "localhost" && ru.Hostname() != "127.0.0.1") || (ru.Path != "" && ru.Path != "/") {
		http.Error(w, "AADSTS50011: The redirect URI does not match.", 400)
		return
	}
	if q.Get("client_id") != testCLIClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || !strings.Contains(q.Get("scope"), "openid") {
		http.Error(w, "AADSTS900144: bad authorize request", 400)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if f.user.deny {
		back.Set("error", "access_denied")
		back.Set("error_description", "AADSTS65004: User declined to consent to access the app.")
	} else {
		f.user.n++
		code := fmt.Sprintf("code-%d", f.user.n)
		f.user.codes[code] = codeGrant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), nonce: q.Get("nonce"), scope: q.Get("scope")}
		back.Set("code", code)
	}
	switch {
	case f.user.issOverride != "":
		back.Set("iss", f.user.issOverride)
	case !f.user.entra && !f.user.omitIss:
		back.Set("iss", f.issuer())
	}
	ru.RawQuery = back.Encode()
	http.Redirect(w, r, ru.String(), http.StatusFound)
}

func (f *fakeIdP) devicecode(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if r.PostForm.Get("client_id") != testCLIClientID {
		entraError(w, 400, "unauthorized_client", 700016, "Application not found in the directory.")
		return
	}
	f.mu.Lock()
	life := f.user.deviceLife
	f.user.deviceScope = r.PostForm.Get("scope")
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"device_code": "dev-1", "user_code": "BCDF-GHJK", "verification_uri": f.srv.URL + "/devicelogin",
		"expires_in": life, "interval": 5,
		"message": "To sign in, use a web browser to open the page " + f.srv.URL + "/devicelogin and enter the code BCDF-GHJK to authenticate.",
	})
}

func (f *fakeIdP) revoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user.revoked = append(f.user.revoked, r.PostForm)
	if st := f.user.refresh[r.PostForm.Get("token")]; st != nil {
		st.revoked = true
	}
	w.WriteHeader(200) // RFC 7009 §2.2: also for a token it does not know
}

// userToken answers the user grants.
func (f *fakeIdP) userToken(w http.ResponseWriter, r *http.Request, v1 bool) {
	form := r.PostForm
	if !f.knownTenant(r.PathValue("tenant")) && !IsMultiTenant(r.PathValue("tenant")) {
		entraError(w, 400, "invalid_request", 90002, "Tenant not found.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &f.user
	nonce, scope := "", form.Get("scope")
	switch form.Get("grant_type") {
	case "authorization_code":
		c, ok := u.codes[form.Get("code")]
		delete(u.codes, form.Get("code"))
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		switch {
		case !ok:
			entraError(w, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired or was already used.")
			return
		case c.redirect != form.Get("redirect_uri"):
			entraError(w, 400, "invalid_grant", 50148, "The redirect_uri does not match the authorization request.")
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
			entraError(w, 400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
			return
		}
		nonce = c.nonce
	case "password":
		if form.Get("username") != testUsername || form.Get("password") != testPassword {
			entraError(w, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
			return
		}
	case DeviceCodeGrantType:
		if form.Get("device_code") != "dev-1" {
			entraError(w, 400, "invalid_grant", 70000, "The device code is not valid.")
			return
		}
		u.devicePolls++
		scope = u.deviceScope
		if len(u.devicePlan) > 0 {
			code := u.devicePlan[0]
			u.devicePlan = u.devicePlan[1:]
			entraError(w, 400, code, 70016, "OAuth 2.0 device flow error: "+code)
			return
		}
	case "refresh_token":
		rt := form.Get("refresh_token")
		st := u.refresh[rt]
		switch {
		case st == nil || st.revoked:
			entraError(w, 400, "invalid_grant", 700082, "The refresh token has expired or was revoked.")
			return
		case st.used:
			// Reuse of a rotated token: revoke the whole chain, as tessera does.
			for _, s := range u.refresh {
				s.revoked = true
			}
			entraError(w, 400, "invalid_grant", 70008, "The refresh token was already used.")
			return
		}
		want := scope
		if v1 {
			want = form.Get("resource")
		}
		for _, s := range strings.Fields(want) {
			if u.consentless[s] {
				writeJSON(w, 400, map[string]any{
					"error": "invalid_grant", "suberror": "consent_required", "error_codes": []int{65001},
					"error_description": "AADSTS65001: The user or administrator has not consented to use the application.",
				})
				return
			}
		}
		u.refreshes++
		if !u.noRotate && !u.entra {
			st.used = true
		}
	default:
		entraError(w, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}

	u.n++
	access := fmt.Sprintf("user-at-%d", u.n)
	refresh := ""
	if strings.Contains(scope, "offline_access") || v1 {
		if form.Get("grant_type") == "refresh_token" && (u.noRotate || u.entra) {
			refresh = "" // Entra may answer without a new refresh token
		} else {
			refresh = fmt.Sprintf("rt-%d", u.n)
			u.refresh[refresh] = &rtState{}
		}
	}
	resp := map[string]any{"token_type": "Bearer", "access_token": access, "scope": scope,
		"client_info": base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + testUserOID + `","utid":"` + testTenantID + `"}`))}
	if v1 {
		resp["expires_in"] = fmt.Sprint(f.expiresIn)
		resp["resource"] = form.Get("resource")
	} else {
		resp["expires_in"] = f.expiresIn
	}
	if refresh != "" {
		resp["refresh_token"] = refresh
	}
	if strings.Contains(scope, "openid") {
		claims := f.idTokenClaims(nonce)
		key := u.key
		if u.mutateID != nil {
			if k := u.mutateID(claims); k != nil {
				key = k
			}
		}
		resp["id_token"] = f.signIDToken(claims, key)
	}
	writeJSON(w, 200, resp)
}

func (f *fakeIdP) formCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.forms)
}

func (f *fakeIdP) refreshCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.user.refreshes
}

// setUser changes the user side under the lock.
func (f *fakeIdP) setUser(fn func(u *userSide)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.user)
}

// browser is a person at a browser: it follows the authorization URL and
// the redirect to the loopback address, and keeps the last page it saw.
type browser struct {
	f      *fakeIdP
	mu     sync.Mutex
	urls   []string
	status int
	page   string
	before func(ctx context.Context, u string) // runs first, e.g. a forged redirect
}

func (b *browser) open(ctx context.Context, u string) error {
	b.mu.Lock()
	b.urls = append(b.urls, u)
	before := b.before
	b.mu.Unlock()
	if before != nil {
		before(ctx, u)
	}
	status, page := b.get(ctx, u)
	b.mu.Lock()
	b.status, b.page = status, page
	b.mu.Unlock()
	return nil
}

func (b *browser) get(ctx context.Context, u string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		b.f.t.Error(err)
		return 0, ""
	}
	resp, err := b.f.srv.Client().Do(req)
	if err != nil {
		b.f.t.Errorf("browser: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func (b *browser) last() (int, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.page
}
