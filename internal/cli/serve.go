package cli

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/server"
)

func newServeCmd() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the identity provider",
		Long: `Run the identity provider: the token endpoints at the Microsoft identity
platform's paths, discovery, JWKS and the admin API.

On first start with an empty database it creates the home tenant and an admin
client, and prints the client's secret once. By default it serves HTTPS with a
local CA it creates in the data folder and prints how to make clients trust it.`,
		Example: `  # SQLite in ./tessera-data, HTTPS on 127.0.0.1:8443 with a local CA
  tessera serve

  # behind a TLS-terminating proxy
  tessera serve --http --addr 0.0.0.0:8080 --public-url https://id.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.Load(cmd.Flags(), &cfg, os.Getenv); err != nil {
				return withExit(ExitUsage, fmt.Errorf("configuration:\n%w", err))
			}
			log := newLogger(cmd, cfg)
			tuneGC()
			srv, err := server.Open(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if srv.CAFile != "" {
				fmt.Fprintf(out, `tessera serves HTTPS with its local CA. To make clients trust it:
  export SSL_CERT_FILE=%[1]s        # Go, OpenSSL (replaces the system roots)
  export CURL_CA_BUNDLE=%[1]s       # curl
  export REQUESTS_CA_BUNDLE=%[1]s   # Python (requests, MSAL, Azure CLI)
  export NODE_EXTRA_CA_CERTS=%[1]s  # Node.js
`, srv.CAFile)
			}
			if srv.Bootstrap != nil {
				srv.Bootstrap.Print(out, srv.URL)
			}
			fmt.Fprintf(out, "Serving %s (tenant %s: %s/%s/v2.0)\n", srv.URL, srv.HomeTenant.Domain, srv.URL, srv.HomeTenant.ID)
			return srv.Run(cmd.Context())
		},
	}
	config.RegisterFlags(cmd.Flags(), &cfg)
	return cmd
}

// serveGCPercent is the server's GOGC. A token request allocates about
// 20 KB against a live heap of a few MB, so at Go's default of 100 the
// collector runs every few hundred requests: in the token endpoint's
// benchmark (go test ./internal/oauth -bench ClientCredentials/ES256) it
// was a quarter of the CPU of an ES256 token, and 400 takes most of that
// back for a few tens of MB more under load. An idle server allocates
// nothing, so its resident memory is what it was.
const serveGCPercent = 400

// tuneGC sets serveGCPercent unless the operator chose with GOGC.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

func newLogger(cmd *cobra.Command, cfg config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts))
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts))
}
