package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"
)

// Secret policy: Entra defaults to 180 days and allows up to two years.
const (
	DefaultSecretLifetime = 180 * 24 * time.Hour
	MaxSecretLifetime     = 2 * 365 * 24 * time.Hour
	// SecretPrefix marks tessera client secrets so that secret scanners
	// can recognise a leaked one.
	SecretPrefix = "tss_"
	secretBytes  = 32 // 256 bits of entropy
)

// SecretSpec describes a new client secret.
type SecretSpec struct {
	DisplayName string `json:"displayName,omitempty"`
	// ExpiresAt defaults to now + DefaultSecretLifetime.
	ExpiresAt time.Time `json:"endDateTime,omitzero"`
}

// AddSecret creates a client secret for an application and returns it in
// plain text. This is the only time the secret exists outside the caller:
// only its keyed hash is stored.
func (s *Service) AddSecret(ctx context.Context, tenantID, appRef string, spec SecretSpec) (Credential, string, error) {
	app, err := s.GetApplication(ctx, tenantID, appRef)
	if err != nil {
		return Credential{}, "", err
	}
	if IsAdminAPI(app) {
		return Credential{}, "", errBuiltIn("it is an API, never a client, and cannot have credentials")
	}
	now := s.clock()
	exp := spec.ExpiresAt.UTC().Truncate(time.Microsecond)
	if spec.ExpiresAt.IsZero() {
		exp = now.Add(DefaultSecretLifetime)
	}
	if !exp.After(now) {
		return Credential{}, "", invalid("secret expiry %s is in the past", exp.Format(time.RFC3339))
	}
	if exp.Sub(now) > MaxSecretLifetime {
		return Credential{}, "", invalid("secrets may live at most two years")
	}
	raw := make([]byte, secretBytes)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return Credential{}, "", fmt.Errorf("directory: random source failed: %w", err)
	}
	body := base64.RawURLEncoding.EncodeToString(raw)
	secret := SecretPrefix + body
	c := Credential{
		TenantID:    tenantID,
		KeyID:       s.newID(),
		AppID:       app.AppID,
		Type:        CredentialSecret,
		DisplayName: strings.TrimSpace(spec.DisplayName),
		Hint:        body[:3],
		SecretHash:  s.hasher.HashSecret(secret),
		StartsAt:    now,
		ExpiresAt:   exp,
		CreatedAt:   now,
	}
	if err := s.repo.AddCredential(ctx, tenantID, c); err != nil {
		return Credential{}, "", err
	}
	return c, secret, nil
}

// CertificateSpec describes a certificate credential: the certificate in
// PEM (or DER) form. Only its public key is ever used.
type CertificateSpec struct {
	DisplayName string `json:"displayName,omitempty"`
	Certificate []byte `json:"certificate"`
}

// AddCertificate registers a certificate whose private key the client will
// sign client assertions with (RFC 7523 §2.2, private_key_jwt).
func (s *Service) AddCertificate(ctx context.Context, tenantID, appRef string, spec CertificateSpec) (Credential, error) {
	app, err := s.GetApplication(ctx, tenantID, appRef)
	if err != nil {
		return Credential{}, err
	}
	if IsAdminAPI(app) {
		return Credential{}, errBuiltIn("it is an API, never a client, and cannot have credentials")
	}
	der := spec.Certificate
	if block, _ := pem.Decode(spec.Certificate); block != nil {
		if block.Type != "CERTIFICATE" {
			return Credential{}, invalid("expected a PEM CERTIFICATE block, got %q (never send a private key)", block.Type)
		}
		der = block.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Credential{}, invalid("not an X.509 certificate: %v", err)
	}
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return Credential{}, invalid("RSA keys must have at least 2048 bits")
		}
	case *ecdsa.PublicKey:
	default:
		return Credential{}, invalid("certificate key must be RSA or ECDSA")
	}
	now := s.clock()
	if !cert.NotAfter.After(now) {
		return Credential{}, invalid("certificate expired at %s", cert.NotAfter.Format(time.RFC3339))
	}
	sum1 := sha1.Sum(cert.Raw)
	sum256 := sha256.Sum256(cert.Raw)
	// The same certificate twice would be two credentials that are one:
	// removing "the" certificate would leave it working. (Two admins adding
	// it at the same instant can still both succeed; that is harmless, and
	// the list shows both.)
	have, err := s.repo.ListCredentials(ctx, tenantID, app.AppID)
	if err != nil {
		return Credential{}, err
	}
	thumb := base64.RawURLEncoding.EncodeToString(sum256[:])
	for _, c := range have {
		if c.Type == CredentialCertificate && c.ThumbprintS256 == thumb {
			return Credential{}, fmt.Errorf("%w: this certificate (thumbprint %X) is already credential %s of application %s", ErrConflict, sum1, c.KeyID, app.AppID)
		}
	}
	name := strings.TrimSpace(spec.DisplayName)
	if name == "" {
		name = "CN=" + cert.Subject.CommonName
	}
	c := Credential{
		TenantID:       tenantID,
		KeyID:          s.newID(),
		AppID:          app.AppID,
		Type:           CredentialCertificate,
		DisplayName:    name,
		CertificateDER: cert.Raw,
		Thumbprint:     strings.ToUpper(hex.EncodeToString(sum1[:])),
		ThumbprintS256: base64.RawURLEncoding.EncodeToString(sum256[:]),
		StartsAt:       cert.NotBefore.UTC().Truncate(time.Microsecond),
		ExpiresAt:      cert.NotAfter.UTC().Truncate(time.Microsecond),
		CreatedAt:      now,
	}
	if err := s.repo.AddCredential(ctx, tenantID, c); err != nil {
		return Credential{}, err
	}
	return c, nil
}

// ListCredentials lists an application's credentials (never a secret).
func (s *Service) ListCredentials(ctx context.Context, tenantID, appRef string) ([]Credential, error) {
	app, err := s.GetApplication(ctx, tenantID, appRef)
	if err != nil {
		return nil, err
	}
	return s.repo.ListCredentials(ctx, tenantID, app.AppID)
}

// RemoveCredential deletes a credential; it stops working at once.
func (s *Service) RemoveCredential(ctx context.Context, tenantID, appRef, keyID string) error {
	app, err := s.GetApplication(ctx, tenantID, appRef)
	if err != nil {
		return err
	}
	if err := s.repo.DeleteCredential(ctx, tenantID, app.AppID, strings.ToLower(keyID)); err != nil {
		return err
	}
	// Tokens are not tied to the credential that obtained them, so every
	// token of the client goes: it will fetch new ones with the credentials
	// it still holds.
	return s.revokeClient(ctx, tenantID, app.AppID)
}
