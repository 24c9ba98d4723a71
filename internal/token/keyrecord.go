package token

import (
	"context"
	"errors"
	"time"
)

// Key states. A key is published in JWKS in every state; only the active one
// signs. The next key is published one rotation ahead of signing, so that a
// resource server that cached JWKS already knows it when tokens signed by
// it arrive; a retired key stays published until every token it signed has
// expired.
const (
	KeyNext    = "next"
	KeyActive  = "active"
	KeyRetired = "retired"
)

// ErrKeysChanged is returned by RotateSigningKeys when the active key is no
// longer the one the caller saw: another rotation won.
var ErrKeysChanged = errors.New("signing keys changed concurrently")

// KeyRecord is a signing key as stored: the private key sealed (encrypted
// and authenticated) under the master key.
type KeyRecord struct {
	ID        string // the JWS kid
	Alg       string // RS256 or ES256
	State     string // KeyNext, KeyActive or KeyRetired
	Sealed    []byte // the sealed PKCS#8 private key
	CertDER   []byte // a self-signed certificate of the public key, for x5c/x5t
	CreatedAt time.Time
	// ActivatedAt is when the key started signing (zero while next).
	ActivatedAt time.Time
	// PublishUntil is when a retired key may leave JWKS (zero otherwise).
	PublishUntil time.Time
}

// KeyRepository stores signing keys. Keys are not tenant-scoped: as with
// Entra, one key set signs for every tenant and is published under each.
type KeyRepository interface {
	// ListSigningKeys returns all keys, newest first.
	ListSigningKeys(ctx context.Context) ([]KeyRecord, error)
	// InitSigningKeys stores the given keys only if no key exists yet, in
	// one transaction, and reports whether it did. Concurrent callers on an
	// empty store: exactly one stores its keys.
	InitSigningKeys(ctx context.Context, keys []KeyRecord) (bool, error)
	// RotateSigningKeys, atomically and only if activeID is still the
	// active key (else ErrKeysChanged): retires activeID with the given
	// PublishUntil, activates the current next key at now, stores newNext
	// (whose State is KeyNext), and deletes retired keys whose PublishUntil
	// is before now.
	RotateSigningKeys(ctx context.Context, activeID string, publishUntil time.Time, newNext KeyRecord, now time.Time) error
}

// KeyInfo is what an operator sees of a signing key: never the key itself.
type KeyInfo struct {
	ID           string    `json:"kid"`
	Alg          string    `json:"alg"`
	State        string    `json:"state"`
	CreatedAt    time.Time `json:"createdAt"`
	ActivatedAt  time.Time `json:"activatedAt,omitzero"`
	PublishUntil time.Time `json:"publishUntil,omitzero"`
	// Thumbprint is the base64url SHA-1 of the key's certificate (x5t).
	Thumbprint string `json:"x5t,omitempty"`
}

// KeyAdmin is the operator's view of the key ring.
type KeyAdmin interface {
	ListKeys(ctx context.Context) ([]KeyInfo, error)
	// RotateKeys activates the next key, retires the active one (kept in
	// JWKS until its tokens expire) and publishes a new next key.
	RotateKeys(ctx context.Context) ([]KeyInfo, error)
}
