package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/server"
)

// newHealthCmd is `tessera health`: a probe of a server on this host,
// for the container image's health check. The image has no shell and no
// curl, so the binary probes itself; and since it reads the same
// settings as serve (flags, TESSERA_* variables, --config), the check
// follows the server's address, scheme and certificate without being
// told them again.
func newHealthCmd() *cobra.Command {
	cfg := config.Default()
	var rawURL string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that the tessera server on this host is ready (exit 0) or not (exit 1)",
		Long: `Check that the tessera server on this host is ready: GET /readyz (the store
answers and a signing key is active) and exit 0 on 200, 1 otherwise.

It takes serve's settings (the same flags, TESSERA_* variables and --config)
to find the server: --addr, with 0.0.0.0 or :: probed on loopback, over HTTP
with --http and otherwise HTTPS, verified with the system's CA certificates,
the local CA in --data, and the name of --public-url. --url probes another
address instead. It is the health check of tessera's container image.`,
		Example: `  # the server started with the same TESSERA_* variables
  tessera health

  # an explicit URL
  tessera health --url http://127.0.0.1:8080/readyz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.Load(cmd.Flags(), &cfg, os.Getenv); err != nil {
				return withExit(ExitUsage, fmt.Errorf("configuration:\n%w", err))
			}
			target, tlsCfg, err := probeTarget(cfg, rawURL)
			if err != nil {
				return withExit(ExitUsage, err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			body, err := probe(ctx, target, tlsCfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", target, body)
			return nil
		},
	}
	config.RegisterFlags(cmd.Flags(), &cfg)
	cmd.Flags().StringVar(&rawURL, "url", "", "URL to probe instead of /readyz at --addr")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}

// probeTarget is the URL to probe and how to trust its certificate.
func probeTarget(cfg config.Config, rawURL string) (string, *tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	// The local CA signs the server's certificate unless --tls-cert names
	// another; its certificate is public (0644), the key stays apart.
	if cfg.TLSCert == "" {
		if pemBytes, err := os.ReadFile(filepath.Join(cfg.DataDir, server.CAFile)); err == nil {
			roots.AppendCertsFromPEM(pemBytes)
		}
	}
	tlsCfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "", nil, fmt.Errorf("--url %q: want an absolute http(s) URL", rawURL)
		}
		return rawURL, tlsCfg, nil
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "", nil, fmt.Errorf("--addr %q: want host:port", cfg.Addr)
	}
	// A server listening on every address is reached on loopback, which
	// is never firewalled from the host itself.
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified() && ip.To4() != nil):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	scheme := "https"
	if cfg.HTTP {
		scheme = "http"
	}
	// The certificate names the public host (a certificate from --tls-cert
	// may name nothing else); the connection still goes to --addr.
	if u, err := url.Parse(cfg.PublicURL); err == nil && cfg.PublicURL != "" {
		tlsCfg.ServerName = u.Hostname()
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/readyz", tlsCfg, nil
}

// probe GETs target and returns the body of a 200; anything else is an
// error (exit 1).
func probe(ctx context.Context, target string, tlsCfg *tls.Config) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", withExit(ExitUsage, err)
	}
	client := &http.Client{
		// No proxy from the environment: the server is on this host.
		Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: nil, DisableKeepAlives: true},
		// A redirect is not the server saying it is ready.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	body := strings.TrimSpace(string(b))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("not healthy: %s: %s %s", target, resp.Status, body)
	}
	if err != nil {
		return "", errors.Join(errors.New("not healthy: reading the answer"), err)
	}
	return body, nil
}
