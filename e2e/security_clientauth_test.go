package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/internal/directory"
)

// certClient registers a certificate credential for the web client in
// tenant and returns its key.
func (e *secEnv) certClient(t *testing.T, tenant string, key *rsa.PrivateKey) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "web"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.srv.Directory.AddCertificate(context.Background(), tenant, e.web.AppID,
		directory.CertificateSpec{Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}); err != nil {
		t.Fatal(err)
	}
}

// assertion is a private_key_jwt client assertion (RFC 7523 §3) of the
// web client for tenant's token endpoint, changed by edit.
func (e *secEnv) assertion(t *testing.T, key any, alg jose.SignatureAlgorithm, tenant string, edit func(map[string]any)) string {
	t.Helper()
	now := time.Now()
	c := map[string]any{"iss": e.web.AppID, "sub": e.web.AppID, "aud": e.h.srv.URL + e.tokenPath(tenant),
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Unix(), "iat": now.Unix(), "jti": randomString(t)}
	if edit != nil {
		edit(c)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	return raw
}

func (e *secEnv) assertionForm(assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {"api://studies/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
}

// TestSecurityClientAuth: RFC 9700 §2.5 (client authentication) and RFC
// 7523 §3 for private_key_jwt: a client proves who it is or gets
// invalid_client, and an assertion is checked for its audience, lifetime,
// algorithm, key and single use (RFC 7523 §3 items 3, 4, 7; RFC 8725 §3.1).
func TestSecurityClientAuth(t *testing.T) {
	e := newSecEnv(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	e.certClient(t, e.tid, key)
	foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
	cc := func(client, secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "scope": {"api://studies/.default"}, "client_id": {client}, "client_secret": {secret}}
	}
	signedAs := func(edit func(map[string]any)) url.Values {
		return e.assertionForm(e.assertion(t, key, jose.RS256, e.tid, edit))
	}
	unsigned := func() url.Values {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		p := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + e.web.AppID + `","sub":"` + e.web.AppID + `","aud":"` +
			e.h.srv.URL + e.tokenPath(e.tid) + `","exp":` + jsonInt(time.Now().Add(time.Minute).Unix()) + `,"jti":"n1"}`))
		return e.assertionForm(h + "." + p + ".")
	}
	// HS256 with the certificate's public key as the HMAC secret: the
	// classic algorithm confusion (RFC 8725 §2.1).
	confused := func() url.Values {
		pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		return e.assertionForm(e.assertion(t, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), jose.HS256, e.tid, nil))
	}
	replayed := signedAs(nil)
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"§2.5 client secret, right", cc(e.web.AppID, e.webSecret), 200, ""},
		{"§2.5 client secret, wrong", cc(e.web.AppID, e.webSecret+"x"), 401, "invalid_client"},
		{"§2.5 client secret of another client", cc(e.native.AppID, e.webSecret), 401, "invalid_client"},
		{"§2.5 unknown client", cc("00000000-0000-4000-8000-000000000000", e.webSecret), 401, "invalid_client"},
		{"§2.5 confidential client without a credential", url.Values{"grant_type": {"client_credentials"}, "scope": {"api://studies/.default"}, "client_id": {e.web.AppID}}, 401, "invalid_client"},
		{"§2.5 public client cannot use client_credentials", url.Values{"grant_type": {"client_credentials"}, "scope": {"api://studies/.default"}, "client_id": {e.native.AppID}}, 401, "invalid_client"},
		{"RFC 6749 §2.3 two authentication methods at once", func() url.Values {
			f := signedAs(nil)
			f.Set("client_secret", e.webSecret)
			return f
		}(), 400, "invalid_request"},
		{"RFC 7523 §3 assertion, right", signedAs(nil), 200, ""},
		{"RFC 7523 §3 assertion replayed (jti used once)", replayed, 200, ""},
		{"RFC 7523 §3 assertion replayed (second use)", replayed, 401, "invalid_client"},
		{"RFC 7523 §3 assertion for another audience", signedAs(func(c map[string]any) { c["aud"] = "https://evil.example/token" }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion without jti", signedAs(func(c map[string]any) { delete(c, "jti") }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion expired", signedAs(func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion without exp", signedAs(func(c map[string]any) { delete(c, "exp") }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion valid for days", signedAs(func(c map[string]any) { c["exp"] = time.Now().Add(72 * time.Hour).Unix() }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion not yet valid", signedAs(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion with sub another client", signedAs(func(c map[string]any) { c["sub"] = e.native.AppID }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion naming another client", signedAs(func(c map[string]any) { c["iss"], c["sub"] = e.native.AppID, e.native.AppID }), 401, "invalid_client"},
		{"RFC 7523 §3 assertion signed by an unregistered key", e.assertionForm(e.assertion(t, foreign, jose.RS256, e.tid, nil)), 401, "invalid_client"},
		{"RFC 8725 §3.1 assertion with alg none", unsigned(), 401, "invalid_client"},
		{"RFC 8725 §2.1 assertion HS256 with the certificate's public key", confused(), 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.token(e.tid, tc.form)
			if tc.status == 200 {
				wantTokens(t, status, body)
				return
			}
			wantOAuthError(t, status, body, tc.status, tc.code)
		})
	}
	// §4.15: a client acting as itself cannot pass for a person: its
	// token says it is an application's and carries no delegated scope.
	t.Run("§4.15 a client credentials token is marked as an application's", func(t *testing.T) {
		status, body := e.token(e.tid, cc(e.web.AppID, e.webSecret))
		wantTokens(t, status, body)
		c := claimsOf(t, body["access_token"].(string))
		if c["idtyp"] != "app" || c["scp"] != nil || c["oid"] == e.alice.ObjectID {
			t.Fatalf("claims %v", c)
		}
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
