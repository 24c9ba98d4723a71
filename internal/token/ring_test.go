package token_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/tessera-id/tessera/internal/cputime"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
)

type fixture struct {
	path   string
	master []byte
	store  *sqlite.Store
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "t.db"), master: make([]byte, 32)}
	rand.Read(f.master)
	f.store = f.open(t)
	return f
}

func (f *fixture) open(t testing.TB) *sqlite.Store {
	st, err := sqlite.Open(context.Background(), f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (f *fixture) ring(t testing.TB, opts token.RingOptions) *token.Ring {
	t.Helper()
	k, err := secrets.New(f.master)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := token.NewRing(context.Background(), f.store, k, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func jwks(t *testing.T, r *token.Ring) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	return set
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func header(t *testing.T, raw string) map[string]any {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(h, &m)
	return m
}

func claims(now time.Time) token.AccessClaims {
	return token.AppTokenClaims(token.AppTokenParams{
		Version: 2, IssuerBase: "https://id.test", TenantID: "t", Audience: "a", ClientID: "c", ClientSP: "s",
		ClientAuth: token.AuthSecret, IssuedAt: now, Lifetime: time.Hour,
	})
}

func TestNewRingPublishesActiveAndNext(t *testing.T) {
	for _, alg := range []string{token.RS256, token.ES256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t)
			r := f.ring(t, token.RingOptions{Alg: alg})
			info, err := r.ListKeys(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			states := map[string]int{}
			for _, k := range info {
				states[k.State]++
				if k.Alg != alg {
					t.Errorf("key %s alg %s, want %s", k.ID, k.Alg, alg)
				}
			}
			if states[token.KeyActive] != 1 || states[token.KeyNext] != 1 || len(info) != 2 {
				t.Fatalf("keys %+v: want one active and one next", info)
			}
			set := jwks(t, r)
			if len(set.Keys) != 2 {
				t.Fatalf("JWKS has %d keys, want 2 (the next key is published before it signs)", len(set.Keys))
			}
			for _, k := range set.Keys {
				if !k.IsPublic() || k.Use != "sig" || len(k.Certificates) != 1 || len(k.CertificateThumbprintSHA1) != 20 {
					t.Errorf("JWKS key %s: public=%v use=%q certs=%d: want a public signing key with x5c and x5t", k.KeyID, k.IsPublic(), k.Use, len(k.Certificates))
				}
				tp, _ := k.Thumbprint(crypto.SHA256)
				if k.KeyID != base64.RawURLEncoding.EncodeToString(tp) {
					t.Errorf("kid %s is not the RFC 7638 thumbprint", k.KeyID)
				}
			}
			raw, err := r.Sign(claims(time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			h := header(t, raw)
			if h["kid"] != r.ActiveKeyID() || h["alg"] != alg || h["typ"] != "JWT" || h["x5t"] == "" || h["x5t"] == nil {
				t.Errorf("header %v: want kid of the active key, alg %s, typ JWT, x5t", h, alg)
			}
		})
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	r := f.ring(t, token.RingOptions{})
	now := time.Now()
	want := claims(now)
	raw, err := r.Sign(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Verify(raw, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.UTI != want.UTI || got.Audience != "a" || got.Issuer != "https://id.test/t/v2.0" || got.Version != "2.0" {
		t.Errorf("verified claims %+v differ from signed %+v", got, want)
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	r := f.ring(t, token.RingOptions{})
	now := time.Now()
	good, _ := r.Sign(claims(now))
	parts := strings.Split(good, ".")

	// A payload signed by nobody: the header of a real token, another body.
	var c map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(b, &c)
	c["roles"] = []string{"Admin"}
	nb, _ := json.Marshal(c)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(nb) + "." + parts[2]

	noneHdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + r.ActiveKeyID() + `"}`))
	none := noneHdr + "." + parts[1] + "."

	// RFC 8725 §2.1: HS256 "signed" with the public key must not verify.
	set := jwks(t, r)
	pub, _ := json.Marshal(set.Keys[0])
	hsHdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + r.ActiveKeyID() + `"}`))
	mac := hmac.New(sha256.New, pub)
	mac.Write([]byte(hsHdr + "." + parts[1]))
	hs := hsHdr + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	other := newFixture(t).ring(t, token.RingOptions{})
	foreign, _ := other.Sign(claims(now))

	for _, tc := range []struct {
		name string
		raw  string
		at   time.Time
		want error
	}{
		{"tampered payload", tampered, now, token.ErrSignature},
		{"alg none (RFC 8725 §3.1)", none, now, token.ErrMalformed},
		{"HS256 with the public key (RFC 8725 §2.1)", hs, now, token.ErrMalformed},
		{"unknown key", foreign, now, token.ErrSignature},
		{"expired", good, now.Add(2 * time.Hour), token.ErrExpired},
		{"not yet valid", good, now.Add(-time.Hour), token.ErrExpired},
		{"garbage", "a.b.c", now, token.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Verify(tc.raw, tc.at, time.Minute); !errors.Is(err, tc.want) {
				t.Errorf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotateKeepsOldTokensValid(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	r := f.ring(t, token.RingOptions{Now: clock, RetireAfter: 25 * time.Hour})
	before := r.ActiveKeyID()
	var next string
	for _, k := range must(r.ListKeys(ctx)) {
		if k.State == token.KeyNext {
			next = k.ID
		}
	}
	old, _ := r.Sign(claims(now))

	info, err := r.RotateKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.ActiveKeyID() != next {
		t.Fatalf("after rotation the active key is %s, want the published next key %s", r.ActiveKeyID(), next)
	}
	states := map[string]string{}
	for _, k := range info {
		states[k.ID] = k.State
		if k.ID == before && !k.PublishUntil.Equal(now.UTC().Truncate(time.Microsecond).Add(25*time.Hour)) {
			t.Errorf("retired key publishUntil %v, want now+25h", k.PublishUntil)
		}
	}
	if states[before] != token.KeyRetired || len(info) != 3 {
		t.Fatalf("after rotation: %v, want the old key retired and a new next key", states)
	}
	if _, err := r.Verify(old, now, 0); err != nil {
		t.Errorf("a token signed before rotation no longer verifies: %v", err)
	}
	fresh, _ := r.Sign(claims(now))
	if header(t, fresh)["kid"] != next {
		t.Errorf("new tokens carry kid %v, want %s", header(t, fresh)["kid"], next)
	}
	if got := kids(jwks(t, r)); len(got) != 3 {
		t.Errorf("JWKS %v: want retired, active and next", got)
	}

	// Once every token of the retired key has expired, it leaves JWKS.
	now = now.Add(26 * time.Hour)
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range kids(jwks(t, r)) {
		if k == before {
			t.Errorf("retired key %s still published after its publishUntil", before)
		}
	}
}

func TestRotationSeenByAnotherRing(t *testing.T) {
	// Two rings on one store stand for two processes (the admin CLI and a
	// server, or two instances).
	f := newFixture(t)
	ctx := context.Background()
	a := f.ring(t, token.RingOptions{})
	b := f.ring(t, token.RingOptions{})
	if a.ActiveKeyID() != b.ActiveKeyID() {
		t.Fatal("two rings on one store disagree on the active key")
	}
	tok, _ := a.Sign(claims(time.Now()))
	if _, err := a.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if a.ActiveKeyID() != b.ActiveKeyID() {
		t.Errorf("after reload b signs with %s, a with %s", b.ActiveKeyID(), a.ActiveKeyID())
	}
	if _, err := b.Verify(tok, time.Now(), 0); err != nil {
		t.Errorf("b rejects a token a signed before rotating: %v", err)
	}
}

func TestRestartKeepsKeysAndNeedsTheMasterKey(t *testing.T) {
	f := newFixture(t)
	r := f.ring(t, token.RingOptions{})
	tok, _ := r.Sign(claims(time.Now()))
	f.store.Close()
	f.store = f.open(t)
	again := f.ring(t, token.RingOptions{})
	if again.ActiveKeyID() != r.ActiveKeyID() {
		t.Errorf("after restart the active key is %s, was %s", again.ActiveKeyID(), r.ActiveKeyID())
	}
	if _, err := again.Verify(tok, time.Now(), 0); err != nil {
		t.Errorf("token from before the restart: %v", err)
	}
	wrong, _ := secrets.New(make([]byte, 32))
	if _, err := token.NewRing(context.Background(), f.store, wrong, token.RingOptions{}); !errors.Is(err, secrets.ErrUnseal) {
		t.Errorf("opening the keys with another master key: %v, want ErrUnseal", err)
	}
}

func TestAppTokenClaimsShapes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := token.AppTokenParams{IssuerBase: "https://id.test/", TenantID: "tid", Audience: "aud", ClientID: "cid",
		ClientSP: "sp", ClientAuth: token.AuthCertificate, Roles: []string{"Reader"}, IssuedAt: now, Lifetime: time.Hour}
	p.Version = 2
	v2 := token.AppTokenClaims(p)
	p.Version = 1
	v1 := token.AppTokenClaims(p)
	for _, tc := range []struct {
		name string
		got  token.AccessClaims
		iss  string
		ver  string
	}{{"v2", v2, "https://id.test/tid/v2.0", "2.0"}, {"v1", v1, "https://id.test/tid/", "1.0"}} {
		c := tc.got
		if c.Issuer != tc.iss || c.Version != tc.ver || c.Subject != "sp" || c.ObjectID != "sp" || c.TenantID != "tid" ||
			c.Expiry-c.IssuedAt != 3600 || c.NotBefore != c.IssuedAt || c.UTI == "" || c.JTI != c.UTI || c.Scope != "" || c.IDType != "app" {
			t.Errorf("%s claims %+v", tc.name, c)
		}
	}
	if v2.AuthorizedParty != "cid" || v2.AuthorizedPartyACR != "2" || v2.AppID != "" {
		t.Errorf("v2 names the client azp/azpacr only: %+v", v2)
	}
	if v1.AppID != "cid" || v1.AppIDACR != "2" || v1.AuthorizedParty != "" || v1.IDP != v1.Issuer {
		t.Errorf("v1 names the client appid/appidacr and idp: %+v", v1)
	}
	if token.AppTokenClaims(p).UTI == v1.UTI {
		t.Error("two tokens share a uti")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkMint(b *testing.B) {
	for _, alg := range []string{token.RS256, token.ES256} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b)
			r := f.ring(b, token.RingOptions{Alg: alg})
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.Sign(claims(now)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{token.RS256, token.ES256} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b)
			r := f.ring(b, token.RingOptions{Alg: alg})
			now := time.Now()
			raw, _ := r.Sign(claims(now))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Verify(raw, now, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
