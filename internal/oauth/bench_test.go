package oauth_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/cputime"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/oauth"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store/cache"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
)

// BenchmarkClientCredentials measures the whole token endpoint in process
// as the server runs it: form parsing, tenant resolution, client
// authentication and the role lookup (through the directory cache over
// SQLite), claims and the signature, and the audit record of the token.
func BenchmarkClientCredentials(b *testing.B) {
	for _, alg := range []string{token.RS256, token.ES256} {
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			// MaxStale far off: the benchmark runs no poller.
			st, err := cache.New(ctx, db, cache.Options{MaxStale: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			master := make([]byte, 32)
			rand.Read(master)
			keys, _ := secrets.New(master)
			dir := directory.NewService(st, keys, directory.Options{})
			ring, err := token.NewRing(ctx, st, keys, token.RingOptions{Alg: alg, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			tenant, _ := dir.CreateTenant(ctx, directory.TenantSpec{Domain: "bench"})
			api, _ := dir.CreateApplication(ctx, tenant.ID, directory.ApplicationSpec{DisplayName: "api", AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true}}})
			dir.CreateServicePrincipal(ctx, tenant.ID, directory.ServicePrincipalSpec{AppID: api.AppID})
			client, _ := dir.CreateApplication(ctx, tenant.ID, directory.ApplicationSpec{DisplayName: "client"})
			dir.CreateServicePrincipal(ctx, tenant.ID, directory.ServicePrincipalSpec{AppID: client.AppID})
			_, secret, _ := dir.AddSecret(ctx, tenant.ID, client.AppID, directory.SecretSpec{})
			dir.AssignRole(ctx, tenant.ID, directory.AssignmentSpec{Principal: client.AppID, Resource: api.AppID, Role: "Reader"})

			// The audit log as the server keeps it: every token recorded,
			// batched into the same database, each event also formatted
			// as a log line (discarded here, not written to a terminal).
			rec := audit.NewRecorder(st, audit.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			defer rec.Close(ctx)
			mux := http.NewServeMux()
			oauth.New(oauth.Config{Directory: dir, Keys: ring, PublicURL: "https://id.bench", Logger: slog.New(slog.DiscardHandler), Audit: rec}).Register(mux)
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {client.AppID}, "client_secret": {secret},
				"scope": {"api://" + api.AppID + "/.default"}}.Encode()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/bench/oauth2/v2.0/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					rec := httptest.NewRecorder()
					mux.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkRefreshToken measures one rotation end to end over HTTP on
// loopback: the lookup, the scope decision, two signatures (access and ID
// token), sealing the response for the grace window, and the atomic
// rotation in SQLite. Rotations of one chain are sequential by nature.
func BenchmarkRefreshToken(b *testing.B) {
	f := newFixture(b)
	verifier, challenge := pkce()
	code, _ := f.signIn(f.public.AppID, publicRedirect, fullScope, challenge, "")
	r := f.token(f.redeem(f.public.AppID, code, publicRedirect, verifier))
	rt := r.str("refresh_token")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r := f.refresh(f.public.AppID, rt, nil)
		if r.status != 200 {
			b.Fatalf("%d %s", r.status, r.raw)
		}
		rt = r.str("refresh_token")
	}
}
