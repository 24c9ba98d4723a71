package oauth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/cputime"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/oauth"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/cache"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
)

// BenchmarkClientCredentialsLargeStore is BenchmarkClientCredentials/ES256
// on a store holding 10,000 applications and 1,000,000 refresh tokens (the
// issue's target: issuance within 10 % of the rate on an empty store).
// Filling the store takes minutes, so it runs only when asked:
//
//	TESSERA_BENCH_LARGE=1 go test ./internal/oauth -run '^$' -bench 'ClientCredentialsLargeStore' -benchtime 3s
//	go test ./internal/oauth -run '^$' -bench 'ClientCredentials/ES256' -benchtime 3s   # the empty store
//
// TESSERA_BENCH_LARGE may also give the number of refresh tokens.
func BenchmarkClientCredentialsLargeStore(b *testing.B) {
	env := os.Getenv("TESSERA_BENCH_LARGE")
	if env == "" {
		b.Skip("set TESSERA_BENCH_LARGE=1 to fill a store with 10,000 applications and 1,000,000 refresh tokens")
	}
	refreshTokens := 1_000_000
	if n, err := strconv.Atoi(env); err == nil && n > 1 {
		refreshTokens = n
	}
	largeOnce.Do(func() { largeMux, largeBody, largeErr = fillLargeStore(b, refreshTokens) })
	if largeErr != nil {
		b.Fatal(largeErr)
	}
	mux, body := largeMux, largeBody
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
}

// The large store is filled once per test binary run: the benchmark
// framework calls the function several times to find b.N.
var (
	largeOnce sync.Once
	largeMux  *http.ServeMux
	largeBody string
	largeErr  error
	// largeCleanup removes the large store's folder.
	largeCleanup = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	largeCleanup()
	os.Exit(code)
}

func fillLargeStore(b *testing.B, refreshTokens int) (*http.ServeMux, string, error) {
	// Not b.TempDir(): the store must outlive the first round. It is
	// removed when the test binary exits (TestMain).
	largeDir, err := os.MkdirTemp("", "tessera-bench-large")
	if err != nil {
		return nil, "", err
	}
	largeCleanup = func() { os.RemoveAll(largeDir) }
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(largeDir, "large.db"))
	if err != nil {
		return nil, "", err
	}
	st, err := cache.New(ctx, db, cache.Options{MaxStale: time.Hour})
	if err != nil {
		return nil, "", err
	}
	master := make([]byte, 32)
	rand.Read(master)
	keys, _ := secrets.New(master)
	dir := directory.NewService(st, keys, directory.Options{})
	ring, err := token.NewRing(ctx, st, keys, token.RingOptions{Alg: token.ES256, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, "", err
	}
	tenant, _ := dir.CreateTenant(ctx, directory.TenantSpec{Domain: "bench"})

	start := time.Now()
	if err := parallel(8, 10_000, func(i int) error {
		_, err := dir.CreateApplication(ctx, tenant.ID, directory.ApplicationSpec{DisplayName: fmt.Sprintf("filler %d", i)})
		return err
	}); err != nil {
		return nil, "", err
	}
	sessions := session.NewService(st, keys, keys, session.Options{})
	g, err := sessions.NewGrant(ctx, tenant.ID, session.GrantSpec{UserID: "00000000-0000-4000-8000-000000000001", ClientID: "filler",
		Scopes: []string{"openid", "offline_access"}, AuthTime: time.Now(), Lifetime: 365 * 24 * time.Hour})
	if err != nil {
		return nil, "", err
	}
	if err := parallel(64, refreshTokens, func(int) error {
		_, err := sessions.IssueRefreshToken(ctx, tenant.ID, g, 90*24*time.Hour, session.IssuedToken{}, time.Time{})
		return err
	}); err != nil {
		return nil, "", err
	}
	b.Logf("filled 10,000 applications and %d refresh tokens in %v", refreshTokens, time.Since(start).Round(time.Second))

	api, _ := dir.CreateApplication(ctx, tenant.ID, directory.ApplicationSpec{DisplayName: "api", AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true}}})
	dir.CreateServicePrincipal(ctx, tenant.ID, directory.ServicePrincipalSpec{AppID: api.AppID})
	client, _ := dir.CreateApplication(ctx, tenant.ID, directory.ApplicationSpec{DisplayName: "client"})
	dir.CreateServicePrincipal(ctx, tenant.ID, directory.ServicePrincipalSpec{AppID: client.AppID})
	_, secret, _ := dir.AddSecret(ctx, tenant.ID, client.AppID, directory.SecretSpec{})
	dir.AssignRole(ctx, tenant.ID, directory.AssignmentSpec{Principal: client.AppID, Resource: api.AppID, Role: "Reader"})

	mux := http.NewServeMux()
	oauth.New(oauth.Config{Directory: dir, Keys: ring, PublicURL: "https://id.bench", Logger: slog.New(slog.DiscardHandler)}).Register(mux)
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {client.AppID}, "client_secret": {secret},
		"scope": {"api://" + api.AppID + "/.default"}}.Encode()
	return mux, body, nil
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first
// error.
func parallel(workers, n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || first.Load() != nil {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	err, _ := first.Load().(error)
	return err
}
