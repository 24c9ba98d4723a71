package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/internal/secrets"
)

// Signing algorithms tessera issues with. RS256 is what every Entra client
// and resource server expects; ES256 is smaller and much faster to sign.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Sealer encrypts private keys at rest (implemented by secrets.Keys).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// signingKey is a key ready for use: the private key (nil for keys that
// only verify) and its public JWK.
type signingKey struct {
	record  KeyRecord
	private crypto.Signer
	public  jose.JSONWebKey
	x5t     string
}

// newKeyRecord generates a key pair for alg, a self-signed certificate of
// its public key (published as x5c, named in token headers as x5t, as
// Entra does, for clients that look keys up by certificate thumbprint), and
// seals the private key.
func newKeyRecord(alg string, sealer Sealer, now time.Time) (KeyRecord, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return KeyRecord{}, fmt.Errorf("token: unsupported signing algorithm %q (use RS256 or ES256)", alg)
	}
	if err != nil {
		return KeyRecord{}, err
	}
	jwk := jose.JSONWebKey{Key: priv.Public()}
	// The kid is the RFC 7638 thumbprint of the public key: stable,
	// unique, and derivable by anyone holding the key.
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return KeyRecord{}, err
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return KeyRecord{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "tessera token signing " + kid[:8]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return KeyRecord{}, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyRecord{}, err
	}
	sealed, err := sealer.Seal(pkcs8, keyAAD(kid))
	if err != nil {
		return KeyRecord{}, err
	}
	return KeyRecord{ID: kid, Alg: alg, State: KeyNext, Sealed: sealed, CertDER: certDER, CreatedAt: now}, nil
}

// open turns a stored record into a usable key. Retired keys only verify,
// so their private key is not unsealed.
func openKeyRecord(r KeyRecord, sealer Sealer) (*signingKey, error) {
	cert, err := x509.ParseCertificate(r.CertDER)
	if err != nil {
		return nil, fmt.Errorf("token: key %s: bad certificate: %w", r.ID, err)
	}
	sum := sha1.Sum(cert.Raw)
	k := &signingKey{record: r, x5t: base64.RawURLEncoding.EncodeToString(sum[:])}
	k.public = jose.JSONWebKey{
		Key:                       cert.PublicKey,
		KeyID:                     r.ID,
		Algorithm:                 r.Alg,
		Use:                       "sig",
		Certificates:              []*x509.Certificate{cert},
		CertificateThumbprintSHA1: sum[:],
	}
	if r.State == KeyRetired {
		return k, nil
	}
	pkcs8, err := sealer.Open(r.Sealed, keyAAD(r.ID))
	if err != nil {
		// Keys sealed before the AAD named table and column were bound
		// to their id alone; still their row, so still safe to open.
		// They age out with rotation (a retired key is never unsealed).
		pkcs8, err = sealer.Open(r.Sealed, []byte(r.ID))
	}
	if err != nil {
		return nil, fmt.Errorf("token: key %s: %w", r.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("token: key %s: %w", r.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("token: key %s is not a signing key", r.ID)
	}
	k.private = signer
	return k, nil
}

func (k *signingKey) info() KeyInfo {
	return KeyInfo{
		ID: k.record.ID, Alg: k.record.Alg, State: k.record.State,
		CreatedAt: k.record.CreatedAt, ActivatedAt: k.record.ActivatedAt,
		PublishUntil: k.record.PublishUntil, Thumbprint: k.x5t,
	}
}

// keyAAD binds a sealed private key to its row: signing keys belong to no
// tenant (one key set signs for all, as at Entra).
func keyAAD(kid string) []byte { return secrets.AAD("", "signing_keys", "sealed", kid) }
