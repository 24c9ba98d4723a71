package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/server"
	"golang.org/x/term"
)

func newServeCmd() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the identity provider",
		Long: `Run the identity provider: the token endpoints at the Microsoft identity
platform's paths, discovery, JWKS and the admin API.

On first start with an empty database it creates the home tenant and an admin
client, and writes the client's secret to bootstrap-admin.json (mode 0600) in
the data folder; it shows the secret too when stdout is a terminal. By default it serves HTTPS with a
local CA it creates in the data folder and prints how to make clients trust it.`,
		Example: `  # SQLite in ./tessera-data, HTTPS on 127.0.0.1:8443 with a local CA
  tessera serve

  # behind a TLS-terminating proxy
  tessera serve --http --addr 0.0.0.0:8080 --public-url https://id.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.Load(cmd.Flags(), &cfg, os.Getenv); err != nil {
				err = withExit(ExitUsage, fmt.Errorf("configuration:\n%w", err))
				if cfg.LogFormat == "json" {
					// --log-format json itself was good: the error is a
					// JSON line like every other.
					return logged(newLogger(cmd, cfg), err)
				}
				return err
			}
			log := newLogger(cmd, cfg)
			if cfg.LogFormat == "json" {
				// Libraries that write with the log package (net/http's
				// server errors among them) write JSON lines too.
				slog.SetDefault(log)
			}
			tuneGC()
			srv, err := server.Open(cmd.Context(), cfg, log)
			if err != nil {
				if cfg.LogFormat == "json" {
					return logged(log, err)
				}
				return err
			}
			if cfg.LogFormat == "json" {
				// Every line JSON: what text mode prints for a person
				// goes to the log, the secret never (it is in the file).
				if srv.CAFile != "" {
					log.Info("serving HTTPS with the local CA: make clients trust it (SSL_CERT_FILE, CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)", "ca_file", srv.CAFile)
				}
				if b := srv.Bootstrap; b != nil {
					log.Info("first start: created the home tenant and an admin client; its secret is in the file, not in the log: store it elsewhere, then delete the file",
						"file", b.File, "tenant", b.TenantDomain, "tenant_id", b.TenantID, "client_id", b.ClientID)
				}
				if err := srv.Run(cmd.Context()); err != nil {
					return logged(log, err)
				}
				return nil
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
			if b := srv.Bootstrap; b != nil {
				if onTerminal(out, term.IsTerminal) {
					b.Print(out, srv.URL)
				} else {
					b.PrintFile(out)
				}
			}
			fmt.Fprintf(out, "Serving %s (tenant %s: %s/%s/v2.0)\n", srv.URL, srv.HomeTenant.Domain, srv.URL, srv.HomeTenant.ID)
			return srv.Run(cmd.Context())
		},
	}
	config.RegisterFlags(cmd.Flags(), &cfg)
	// A flag that does not parse stops cobra before RunE: with --log-format
	// json asked for, say so in a JSON line too.
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		err = withExit(ExitUsage, err)
		if jsonLogRequested(os.Args[1:], os.Getenv) {
			c := config.Default()
			c.LogFormat = "json"
			return logged(newLogger(cmd, c), err)
		}
		return err
	})
	return cmd
}

// jsonLogRequested reports whether args or the environment ask for
// --log-format json, for errors found before the flags are all parsed.
func jsonLogRequested(args []string, getenv func(string) string) bool {
	format := getenv(config.EnvName("log-format"))
	for i, a := range args {
		switch {
		case a == "--":
			return format == "json"
		case a == "--log-format" && i+1 < len(args):
			format = args[i+1]
		case strings.HasPrefix(a, "--log-format="):
			format = strings.TrimPrefix(a, "--log-format=")
		}
	}
	return format == "json"
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

// onTerminal reports whether out is a terminal, where a person reads the
// bootstrap secret once: not a pipe, a file or journald, which keep it.
func onTerminal(out io.Writer, isTerminal func(fd int) bool) bool {
	f, ok := out.(interface{ Fd() uintptr })
	return ok && isTerminal(int(f.Fd()))
}

// logged writes err to log at error level and marks it as written, so
// that main does not print it again as a line of text.
func logged(log *slog.Logger, err error) error {
	log.Error(err.Error())
	return &loggedError{err}
}

type loggedError struct{ err error }

func (e *loggedError) Error() string { return e.err.Error() }
func (e *loggedError) Unwrap() error { return e.err }

// Logged reports whether err was already written to the log (serve with
// --log-format json), so that main prints nothing more.
func Logged(err error) bool {
	var l *loggedError
	return errors.As(err, &l)
}
