package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// golang.org/x/oauth2/clientcredentials, unchanged, gets tokens with a
// secret (in the body and by HTTP Basic) and with private_key_jwt.
func TestOAuth2LibraryClientCredentials(t *testing.T) {
	h := start(t)
	a := setupApps(t, h)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.http)
	tokenURL := h.srv.URL + "/default/oauth2/v2.0/token"

	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		cfg := clientcredentials.Config{ClientID: a.client, ClientSecret: a.clientSecret, TokenURL: tokenURL,
			Scopes: []string{"api://" + a.api + "/.default"}, AuthStyle: style}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("auth style %v: %v", style, err)
		}
		if c := claimsOf(t, tok.AccessToken); c["aud"] != a.api || c["azpacr"] != "1" || tok.Expiry.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("auth style %v: claims %v, expiry %v", style, c, tok.Expiry)
		}
	}

	// A certificate credential and a client assertion signed with its key
	// (RFC 7523 §2.2), passed as the library's endpoint parameters.
	key, certPEM, x5t := selfSigned(t, "studies-client")
	certFile := filepath.Join(t.TempDir(), "client.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	cred := h.admin(h.adminToken(), "cert", "add", "--id", a.client, "--cert", certFile)
	if cred["thumbprint"] == nil {
		t.Errorf("cert add output %v has no thumbprint", cred)
	}
	assertion := clientAssertion(t, key, x5t, a.client, tokenURL, "jti-1")
	cfg := clientcredentials.Config{ClientID: a.client, TokenURL: tokenURL, Scopes: []string{"api://" + a.api + "/.default"},
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: map[string][]string{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		}}
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatalf("private_key_jwt: %v", err)
	}
	if c := claimsOf(t, tok.AccessToken); c["azpacr"] != "2" || c["azp"] != a.client {
		t.Errorf("private_key_jwt token claims %v: want azpacr 2", c)
	}
	// RFC 7523 §3: the same assertion (same jti) is refused the second time.
	if _, err := cfg.Token(ctx); err == nil {
		t.Error("a replayed client assertion was accepted")
	} else if re, ok := err.(*oauth2.RetrieveError); !ok || re.ErrorCode != "invalid_client" {
		t.Errorf("replayed assertion: %v, want invalid_client", err)
	}
	h.assertNotLogged(a.clientSecret, assertion, tok.AccessToken)
}

func selfSigned(t *testing.T, cn string) (*rsa.PrivateKey, []byte, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(der)
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), base64.RawURLEncoding.EncodeToString(sum[:])
}

func clientAssertion(t *testing.T, key *rsa.PrivateKey, x5t, clientID, aud, jti string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", x5t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "jti": jti,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	return raw
}
