package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// benchStore is a store with one tenant of 100 applications, each with a
// service principal and three credentials, and a key set of three keys:
// the rows the token endpoint reads on every request.
func benchStore(b *testing.B) *Store {
	b.Helper()
	ctx := b.Context()
	s := openTemp(b, filepath.Join(b.TempDir(), "bench.db"))
	now := time.Now().UTC().Truncate(time.Microsecond)
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(s.CreateTenant(ctx, directory.Tenant{ID: "t", Domain: "t.example", CreatedAt: now}))
	for i := range 100 {
		appID := fmt.Sprint("app-", i)
		must(s.CreateApplication(ctx, "t", directory.Application{
			AppID: appID, ObjectID: "o-" + appID, DisplayName: appID,
			IdentifierURIs: []string{"api://" + appID},
			Scopes:         []directory.Scope{{ID: "s", Value: "user_impersonation", Enabled: true}},
			AppRoles: []directory.AppRole{{ID: "r", Value: "Reader", Enabled: true,
				AllowedMemberTypes: []string{directory.MemberTypeApplication}}},
			AccessTokenAcceptedVersion: 2, CreatedAt: now, UpdatedAt: now,
		}))
		must(s.CreateServicePrincipal(ctx, "t", directory.ServicePrincipal{
			ObjectID: "sp-" + appID, AppID: appID, Enabled: true, CreatedAt: now}))
		for k := range 3 {
			must(s.AddCredential(ctx, "t", directory.Credential{
				AppID: appID, KeyID: fmt.Sprint("k", k), Type: directory.CredentialSecret,
				SecretHash: make([]byte, 32), StartsAt: now, ExpiresAt: now.AddDate(1, 0, 0), CreatedAt: now}))
		}
	}
	_, err := s.InitSigningKeys(ctx, []token.KeyRecord{
		{ID: "k1", Alg: "ES256", State: token.KeyRetired, Sealed: make([]byte, 200), CertDER: make([]byte, 400), CreatedAt: now},
		{ID: "k2", Alg: "ES256", State: token.KeyActive, Sealed: make([]byte, 200), CertDER: make([]byte, 400), CreatedAt: now.Add(time.Second)},
		{ID: "k3", Alg: "ES256", State: token.KeyNext, Sealed: make([]byte, 200), CertDER: make([]byte, 400), CreatedAt: now.Add(2 * time.Second)},
	})
	must(err)
	return s
}

func BenchmarkGetApplication(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		if _, err := s.GetApplication(b.Context(), "t", "app-42"); err != nil {
			b.Fatal(err)
		}
	}
}

// Reads run on a pool, so they should scale with cores.
func BenchmarkGetApplicationParallel(b *testing.B) {
	s := benchStore(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetApplication(b.Context(), "t", "app-42"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGetServicePrincipalByAppID(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		if _, err := s.GetServicePrincipalByAppID(b.Context(), "t", "app-42"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListCredentials(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		if c, err := s.ListCredentials(b.Context(), "t", "app-42"); err != nil || len(c) != 3 {
			b.Fatal(len(c), err)
		}
	}
}

func BenchmarkListSigningKeys(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		if k, err := s.ListSigningKeys(b.Context()); err != nil || len(k) != 3 {
			b.Fatal(len(k), err)
		}
	}
}

// A durable write: one fsync of the WAL per call dominates.
func BenchmarkConsumeOnce(b *testing.B) {
	s := benchStore(b)
	exp := time.Now().Add(time.Hour)
	i := 0
	for b.Loop() {
		i++
		if err := s.ConsumeOnce(b.Context(), "t", fmt.Sprint("jti-", i), exp); err != nil {
			b.Fatal(err)
		}
	}
}

// One rotation: the read of token and grant, the conditional update and
// the insert of the successor, in one durable transaction.
func BenchmarkRotateRefreshToken(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.CreateGrant(ctx, "t", session.Grant{ID: "g", UserID: "u", ClientID: "c", CreatedAt: now,
		ExpiresAt: now.AddDate(1, 0, 0)}); err != nil {
		b.Fatal(err)
	}
	hash := func(i int) []byte { return fmt.Appendf(make([]byte, 0, 32), "%032d", i) }
	if err := s.CreateRefreshToken(ctx, "t", session.RefreshToken{Hash: hash(0), GrantID: "g", ClientID: "c",
		CreatedAt: now, ExpiresAt: now.AddDate(0, 0, 90)}); err != nil {
		b.Fatal(err)
	}
	sealed := make([]byte, 2000) // about the size of a sealed token response
	i := 0
	for b.Loop() {
		next := session.RefreshToken{Hash: hash(i + 1), GrantID: "g", ClientID: "c", CreatedAt: now,
			ExpiresAt: now.AddDate(0, 0, 90)}
		if _, _, ok, err := s.MarkRefreshTokenUsed(ctx, "t", hash(i), next, sealed, session.Revocation{}, now); err != nil || !ok {
			b.Fatal(err)
		}
		i++
	}
}
