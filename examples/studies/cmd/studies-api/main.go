// Command studies-api serves the example studies API behind the guard:
//
//	studies-api --authority https://127.0.0.1:8443/contoso.example/v2.0 \
//	    --audience api://6d0c2b6a-3c5e-4f4e-9b1a-2a7c1c0e8f11 --tenant-header
//
// Revoked tokens are refused: the authority's revocation feed is polled
// every --revocation-poll (10s; 0 turns this off).
//
// tessera's local CA is trusted through SSL_CERT_FILE.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tessera-id/tessera/examples/studies"
	"github.com/tessera-id/tessera/guard"
)

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var audiences list
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	authority := flag.String("authority", "", "token authority, e.g. https://127.0.0.1:8443/{tenant}/v2.0")
	flag.Var(&audiences, "audience", "accepted token audience, e.g. api://{appId} (repeatable)")
	tenantHeader := flag.Bool("tenant-header", false, "require an X-Tenant-ID header naming the token's tenant")
	revocationPoll := flag.Duration("revocation-poll", guard.DefaultRevocationPollInterval, "how often to poll the authority's revocation feed (0: do not check revocations)")
	flag.Parse()
	if *authority == "" || len(audiences) == 0 || *revocationPoll < 0 {
		fmt.Fprintln(os.Stderr, "studies-api: --authority and at least one --audience are required; --revocation-poll is not negative")
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg := guard.Config{Authority: *authority, Audiences: audiences, Logger: log, RevocationPollInterval: *revocationPoll}
	if *revocationPoll == 0 {
		cfg.RevocationPollInterval = -1 // the flag's 0 is off; the guard's is its default
	}
	if *tenantHeader {
		cfg.TenantHeader = "X-Tenant-ID"
	}
	if err := run(ctx, log, *addr, cfg); err != nil {
		log.Error("studies-api stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, addr string, cfg guard.Config) error {
	g, err := guard.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	srv := &http.Server{
		Addr:              addr,
		Handler:           studies.NewHandler(g),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	log.Info("studies-api listening", "addr", "http://"+addr, "authority", cfg.Authority)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
