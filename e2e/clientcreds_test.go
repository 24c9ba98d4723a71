package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/tessera-id/tessera/examples/studies"
	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/token"
)

// apps is the directory the scenario builds with `tessera admin`.
type apps struct {
	api, apiV1, other    string // resource appIds
	client, clientSecret string // holds Reader on api and apiV1
	noRole, noRoleSecret string // holds nothing
}

func setupApps(t *testing.T, h *harness) apps {
	t.Helper()
	adm := h.adminToken()
	var a apps
	a.api = h.admin(adm, "app", "create", "--display-name", "Studies API", "--app-role", "Reader", "--app-role", "Writer:Application")["appId"].(string)
	a.apiV1 = h.admin(adm, "app", "create", "--display-name", "Legacy API", "--app-role", "Reader", "--token-version", "1", "--identifier-uri", "https://legacy.example/api")["appId"].(string)
	a.other = h.admin(adm, "app", "create", "--display-name", "Other API")["appId"].(string)
	a.client = h.admin(adm, "app", "create", "--display-name", "Studies client")["appId"].(string)
	a.noRole = h.admin(adm, "app", "create", "--display-name", "Roleless client")["appId"].(string)
	for _, id := range []string{a.api, a.apiV1, a.other, a.client, a.noRole} {
		h.admin(adm, "sp", "create", "--id", id)
	}
	a.clientSecret = h.admin(adm, "secret", "add", "--id", a.client)["secretText"].(string)
	a.noRoleSecret = h.admin(adm, "secret", "add", "--id", a.noRole)["secretText"].(string)
	h.admin(adm, "role", "assign", "--assignee", a.client, "--resource", a.api, "--role", "Reader")
	h.admin(adm, "role", "assign", "--assignee", a.client, "--resource", "https://legacy.example/api", "--role", "Reader")
	return a
}

func TestClientCredentialsEndToEnd(t *testing.T) {
	h := start(t)
	a := setupApps(t, h)
	ctx := oidc.ClientContext(context.Background(), h.http)
	tid := h.tenant()

	// v2 endpoint, v2 resource: Entra's v2 shape.
	v2 := h.clientCredentials(a.client, a.clientSecret, "api://"+a.api+"/.default", false)
	c := claimsOf(t, v2)
	wantV2 := map[string]any{"iss": h.srv.URL + "/" + tid + "/v2.0", "aud": a.api, "azp": a.client, "azpacr": "1", "tid": tid, "ver": "2.0", "idtyp": "app"}
	for k, v := range wantV2 {
		if c[k] != v {
			t.Errorf("v2 token %s = %v, want %v", k, c[k], v)
		}
	}
	if roles, _ := c["roles"].([]any); len(roles) != 1 || roles[0] != "Reader" {
		t.Errorf("v2 token roles %v, want [Reader]", c["roles"])
	}
	if _, ok := c["scp"]; ok {
		t.Error("an app-only token carries scp")
	}
	if c["oid"] != c["sub"] || c["uti"] == nil || c["jti"] == nil || c["exp"].(float64)-c["iat"].(float64) != 3600 {
		t.Errorf("v2 token oid/sub/uti/jti/lifetime: %v", c)
	}
	if hdr := headerOf(t, v2); hdr["kid"] != h.srv.Keys.ActiveKeyID() || hdr["x5t"] == nil || hdr["alg"] != "RS256" {
		t.Errorf("header %v", hdr)
	}

	// v1 endpoint with resource=, the ARM how-to's request; the response
	// carries Entra's v1 fields.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.client}, "client_secret": {a.clientSecret}, "resource": {"https://legacy.example/api"}}
	status, body, hdr := h.postForm("/default/oauth2/token", form, "", "")
	if status != 200 {
		t.Fatalf("v1 token: %d %v", status, body)
	}
	for _, f := range []string{"token_type", "expires_in", "ext_expires_in", "expires_on", "not_before", "resource", "access_token"} {
		if _, ok := body[f]; !ok {
			t.Errorf("v1 response lacks %s: %v", f, body)
		}
	}
	if body["resource"] != "https://legacy.example/api" || body["token_type"] != "Bearer" || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("v1 response %v, Cache-Control %q", body, hdr.Get("Cache-Control"))
	}
	v1 := body["access_token"].(string)
	c1 := claimsOf(t, v1)
	if c1["iss"] != h.srv.URL+"/"+tid+"/" || c1["aud"] != "https://legacy.example/api" || c1["appid"] != a.client || c1["ver"] != "1.0" || c1["azp"] != nil {
		t.Errorf("v1 token claims %v", c1)
	}

	// An independent verifier, from the discovery documents alone.
	for _, tc := range []struct{ issuer, aud, raw string }{
		{h.srv.URL + "/" + tid + "/v2.0", a.api, v2},
		{h.srv.URL + "/" + tid + "/", "https://legacy.example/api", v1},
	} {
		p, err := oidc.NewProvider(ctx, tc.issuer)
		if err != nil {
			t.Fatalf("go-oidc discovery of %s: %v", tc.issuer, err)
		}
		if _, err := p.Verifier(&oidc.Config{ClientID: tc.aud}).Verify(ctx, tc.raw); err != nil {
			t.Errorf("go-oidc rejects the token for %s: %v", tc.aud, err)
		}
	}

	// The example API behind the guard, directly and through tessera proxy.
	g, err := guard.New(context.Background(), guard.Config{
		Authority: h.srv.URL + "/default/v2.0", Audiences: []string{"api://" + a.api}, TenantHeader: "X-Tenant-ID", HTTPClient: h.http,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	api := httptest.NewServer(studies.NewHandler(g))
	defer api.Close()
	proxyAddr := freeAddr(t)
	pctx, stopProxy := context.WithCancel(context.Background())
	perr := make(chan error, 1)
	go func() {
		_, _, err := h.cliCtx(pctx, "proxy", "--addr", proxyAddr, "--upstream", api.URL, "--authority", h.srv.URL+"/"+tid+"/v2.0",
			"--audience", "api://"+a.api, "--require-role", "Reader", "--tenant-header", "--ca-file", h.srv.CAFile)
		perr <- err
	}()
	defer func() {
		stopProxy()
		if err := <-perr; err != nil {
			t.Errorf("proxy: %v", err)
		}
	}()
	waitListening(t, proxyAddr, perr)

	other := h.clientCredentials(a.client, a.clientSecret, a.other+"/.default", false)
	roleless := h.clientCredentials(a.noRole, a.noRoleSecret, "api://"+a.api+"/.default", false)
	expired := signed(t, h, func(c map[string]any) {
		c["exp"] = time.Now().Add(-10 * time.Minute).Unix()
		c["nbf"] = time.Now().Add(-time.Hour).Unix()
	})
	parts := strings.Split(v2, ".")
	tampered := parts[0] + "." + reencode(t, parts[1], func(c map[string]any) { c["roles"] = []string{"Reader", "Writer"} }) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	foreign := foreignSigned(t, claimsOf(t, v2))

	for _, base := range []string{api.URL, "http://" + proxyAddr} {
		for _, tc := range []struct {
			name, token, tenant string
			status              int
			challenge           string
		}{
			{"v2 token, tenant GUID", v2, tid, 200, ""},
			{"v2 token, tenant domain", v2, "default", 200, ""},
			{"token for another audience", other, tid, 401, `error="invalid_token"`},
			{"expired token", expired, tid, 401, `error="invalid_token"`},
			{"signed by an unknown key", foreign, tid, 401, `error="invalid_token"`},
			{"alg none", none, tid, 401, `error="invalid_token"`},
			{"tampered payload", tampered, tid, 401, `error="invalid_token"`},
			{"no token", "", tid, 401, "Bearer"},
			{"wrong X-Tenant-ID", v2, "7c0a3f4e-1111-4222-8333-944455556666", 403, `error="insufficient_scope"`},
			{"no X-Tenant-ID", v2, "", 400, `error="invalid_request"`},
			{"client without the role", roleless, tid, 403, `error="insufficient_scope"`},
		} {
			t.Run(strings.TrimPrefix(base, "http://")+"/"+tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", base+"/api/v1/as-user/studies?offset=0&limit=5", nil)
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				req.Header.Set("X-Tenant-ID", tc.tenant)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
				}
				if tc.status != 200 {
					if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) {
						t.Errorf("WWW-Authenticate %q, want it to contain %q", got, tc.challenge)
					}
					return
				}
				var odm struct {
					Meta struct {
						Pagination struct{ Count, Total, Offset, Limit int } `json:"pagination"`
					} `json:"meta"`
					Data []map[string]any `json:"data"`
				}
				if err := json.Unmarshal(raw, &odm); err != nil {
					t.Fatal(err)
				}
				p := odm.Meta.Pagination
				if p.Count != 5 || len(odm.Data) != 5 || p.Offset != 0 || p.Limit != 5 || p.Total < 5 {
					t.Errorf("ODM pagination %+v with %d items", p, len(odm.Data))
				}
			})
		}
	}
}

// signed signs the claims of a fresh app token, changed by edit, with the
// server's own active key: a token that is genuine but for its edit.
func signed(t *testing.T, h *harness, edit func(map[string]any)) string {
	t.Helper()
	c := token.AppTokenClaims(token.AppTokenParams{Version: 2, IssuerBase: h.srv.URL, TenantID: h.tenant(), Audience: "x",
		ClientID: "c", ClientSP: "s", ClientAuth: token.AuthSecret, IssuedAt: time.Now(), Lifetime: time.Hour})
	var m map[string]any
	b, _ := json.Marshal(c)
	json.Unmarshal(b, &m)
	edit(m)
	raw, err := h.srv.Keys.Sign(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// foreignSigned signs claims with a key the server never published.
func foreignSigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: "forged"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, _ := s.Sign(b)
	raw, _ := jws.CompactSerialize()
	return raw
}

func reencode(t *testing.T, part string, edit func(map[string]any)) string {
	t.Helper()
	b, _ := base64.RawURLEncoding.DecodeString(part)
	var m map[string]any
	json.Unmarshal(b, &m)
	edit(m)
	nb, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(nb)
}
