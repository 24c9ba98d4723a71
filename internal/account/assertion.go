package account

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid. Entra accepts
// at most ten minutes; the assertion is used once, right away.
const assertionLifetime = 10 * time.Minute

// Certificate is a client certificate and its private key, read from one
// PEM file as az's --certificate takes it.
type Certificate struct {
	Leaf *x509.Certificate
	Key  *rsa.PrivateKey
}

// LoadCertificate reads a PEM file holding a certificate and the RSA
// private key that goes with it, in either order.
func LoadCertificate(path string) (*Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read certificate file: %w", err)
	}
	c := &Certificate{}
	for {
		var b *pem.Block
		b, raw = pem.Decode(raw)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			if c.Leaf != nil {
				continue // the rest of a chain; the first is the client's
			}
			if c.Leaf, err = x509.ParseCertificate(b.Bytes); err != nil {
				return nil, fmt.Errorf("%s: bad certificate: %w", path, err)
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			if c.Key, err = parseRSAKey(b); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s: the private key is encrypted: decrypt it first (openssl pkey -in FILE)", path)
		}
	}
	switch {
	case c.Leaf == nil:
		return nil, fmt.Errorf("%s holds no CERTIFICATE block: give a PEM file with the certificate and its private key", path)
	case c.Key == nil:
		return nil, fmt.Errorf("%s holds no private key: give a PEM file with the certificate and its private key", path)
	}
	pub, ok := c.Leaf.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&c.Key.PublicKey) {
		return nil, fmt.Errorf("%s: the private key does not belong to the certificate", path)
	}
	return c, nil
}

func parseRSAKey(b *pem.Block) (*rsa.PrivateKey, error) {
	if b.Type == "RSA PRIVATE KEY" {
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		// Entra takes RS256 (and PS256) client assertions only.
		return nil, errors.New("the private key is not an RSA key: client certificates must be RSA")
	}
	return rk, nil
}

// Thumbprint is the x5t header value: the base64url SHA-1 of the
// certificate's DER (RFC 7515 §4.1.7), which is how Entra finds the key
// credential the assertion is signed with.
func (c *Certificate) Thumbprint() string {
	sum := sha1.Sum(c.Leaf.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ThumbprintS256 is the x5t#S256 header value (RFC 7515 §4.1.8).
func (c *Certificate) ThumbprintS256() string {
	sum := sha256.Sum256(c.Leaf.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Assertion builds a client assertion (RFC 7523 §3): a JWT signed with the
// certificate's key whose issuer and subject are the client id and whose
// audience is the token endpoint it is posted to, so it cannot be replayed
// at another endpoint; jti makes each one unique.
func (c *Certificate) Assertion(clientID, tokenEndpoint string, now time.Time) (string, error) {
	opts := (&jose.SignerOptions{}).
		WithType("JWT").
		WithHeader("x5t", c.Thumbprint()).
		WithHeader("x5t#S256", c.ThumbprintS256())
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: c.Key}, opts)
	if err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Issuer:    clientID,
		Subject:   clientID,
		Audience:  jwt.Audience{tokenEndpoint},
		ID:        uuid.NewString(),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}
