package guard_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// resourceID is the protected API's application id.
const resourceID = "a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f"

// t0 is the tests' "now"; tokens and the guard share the clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is an injectable clock tests move by hand: no sleeps.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setup starts an authority and a guard for api://{resourceID} sharing
// one clock; mutate adjusts the config.
func setup(tb testing.TB, mutate func(*guard.Config)) (*guardtest.Authority, *guard.Guard, *clock) {
	tb.Helper()
	idp := guardtest.NewAuthority(tb)
	clk := newClock()
	idp.Now = clk.Now
	cfg := guard.Config{
		Authority:  idp.URL(),
		Audiences:  []string{"api://" + resourceID},
		HTTPClient: idp.Client(),
		Logger:     quiet,
		Now:        clk.Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := guard.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("guard.New: %v", err)
	}
	tb.Cleanup(g.Close)
	return idp, g, clk
}

// reasonOf returns the Reason of a guard error, or "" for nil.
func reasonOf(err error) guard.Reason {
	if err == nil {
		return ""
	}
	var e *guard.Error
	if !errors.As(err, &e) {
		return "not a *guard.Error: " + guard.Reason(err.Error())
	}
	return e.Reason
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// unsignedToken is "alg":"none" (RFC 7519 §6.1), kid of a real key.
func unsignedToken(kid string, claims guardtest.Claims) string {
	return b64(map[string]string{"alg": "none", "typ": "JWT", "kid": kid}) + "." + b64(claims) + "."
}

// hmacWithPublicKey is the classic alg-confusion forgery: HS256 keyed with
// the RSA public key as PEM, which a verifier that lets the token choose
// the algorithm would check with the "key" it has.
func hmacWithPublicKey(tb testing.TB, idp *guardtest.Authority, claims guardtest.Claims) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(idp.RSA.Signer.Public())
	if err != nil {
		tb.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signingInput := b64(map[string]string{"alg": "HS256", "typ": "JWT", "kid": idp.RSA.ID}) + "." + b64(claims)
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(hmacSHA256(secret, []byte(signingInput)))
}

// tamper replaces the payload of tok, keeping header and signature.
func tamper(tok string, claims guardtest.Claims) string {
	parts := strings.Split(tok, ".")
	parts[1] = b64(claims)
	return strings.Join(parts, ".")
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

func signWithEC(idp *guardtest.Authority) guardtest.MintOption { return guardtest.SignWith(idp.EC) }
