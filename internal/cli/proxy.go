package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/guard"
)

// Server timeouts of the proxy. They bound slow clients (ReadHeader),
// uploads and responses (Read, Write) and idle keep-alive connections; an
// API with longer calls should not sit behind this proxy unchanged.
const (
	proxyReadHeaderTimeout = 10 * time.Second
	proxyReadTimeout       = 2 * time.Minute
	proxyWriteTimeout      = 2 * time.Minute
	proxyIdleTimeout       = 2 * time.Minute
	proxyShutdownTimeout   = 15 * time.Second
	proxyTenantHeader      = "X-Tenant-ID"
)

type proxyOptions struct {
	upstream     string
	authority    string
	audiences    []string
	roles        []string
	scopes       []string
	tenantHeader bool
	addr         string
	caFile       string
	revokePoll   time.Duration
	verbose      bool
}

func newProxyCmd() *cobra.Command {
	o := &proxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Guard an HTTP API: pass on only requests with a valid access token",
		Long: `Run a reverse proxy in front of --upstream that admits only requests bearing
an access token of --authority for one of the --audience values, and answers
everything else itself (RFC 6750: 401 for a missing or invalid token, 403 for
a missing role, scope or tenant, 400 for a missing X-Tenant-ID).

--require-role and --require-scope list what grants access: a token with ANY
of the roles or ANY of the scopes is admitted. Without either, any valid token
is. --tenant-header requires an X-Tenant-ID header naming the token's tenant
by id or by domain.

The upstream learns the caller from headers the proxy sets on every request,
empty when the token has no value:
  X-Tessera-Subject, X-Tessera-Object-Id, X-Tessera-Tenant-Id,
  X-Tessera-Client-Id, X-Tessera-Roles, X-Tessera-Scopes (comma-separated),
  X-Tessera-Token-Type (app: an application acting for itself; user)
A caller's headers named X-Tessera-* in any spelling, and every header whose
name contains '_' (which CGI, WSGI and Rack servers read as '-'), are removed
first, so none can be forged. The Authorization header is passed on
unchanged, for an upstream that checks the token again or exchanges it on
behalf of the caller. ID tokens are refused: only access tokens pass.

A token is refused once revoked (a signed-out session, a disabled user, a
deleted client): the proxy reads the authority's revocation feed at start and
polls it every --revocation-poll (10s); 0 turns this off, and revoked tokens
are then accepted until they expire. With a multi-tenant --authority
(/common/v2.0, /organizations/v2.0) it follows the feed of each tenant whose
tokens it sees, read whole before that tenant's first token passes.

tessera's local CA is trusted through SSL_CERT_FILE or --ca-file (which adds
to the system roots, for the authority and the upstream). The proxy stops
gracefully on SIGINT or SIGTERM.`,
		Example: `  tessera proxy --upstream http://127.0.0.1:9000 \
      --authority https://127.0.0.1:8443/contoso.example/v2.0 \
      --audience api://6d0c2b6a-3c5e-4f4e-9b1a-2a7c1c0e8f11 \
      --require-role Reader --require-scope user_impersonation --tenant-header
  tessera proxy --upstream http://127.0.0.1:9000 --authority https://127.0.0.1:8443/contoso.example/v2.0 \
      --audience api://orders --ca-file ~/.tessera/ca.pem --addr 127.0.0.1:8081 --revocation-poll 5s`,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.upstream, "upstream", "", "URL of the API to protect, e.g. http://127.0.0.1:9000")
	f.StringVar(&o.authority, "authority", "", "token authority, e.g. https://127.0.0.1:8443/{tenant}/v2.0")
	f.StringArrayVar(&o.audiences, "audience", nil, "accepted token audience, e.g. api://{appId} (repeatable)")
	f.StringArrayVar(&o.roles, "require-role", nil, "application role that grants access (repeatable; any one suffices)")
	f.StringArrayVar(&o.scopes, "require-scope", nil, "delegated scope that grants access (repeatable; any one suffices)")
	f.BoolVar(&o.tenantHeader, "tenant-header", false, "require an "+proxyTenantHeader+" header naming the token's tenant")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of a CA to trust besides the system roots (tessera's local CA)")
	f.DurationVar(&o.revokePoll, "revocation-poll", guard.DefaultRevocationPollInterval, "how often to poll the authority's revocation feed (0: do not check revocations)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every refused request and why")
	clientUsageErrors(cmd)
	return cmd
}

// check reports every flag problem at once.
func (o *proxyOptions) check() (*url.URL, error) {
	var problems []string
	up, err := url.Parse(o.upstream)
	switch {
	case o.upstream == "":
		problems = append(problems, "--upstream is required")
	case err != nil || up.Host == "" || (up.Scheme != "http" && up.Scheme != "https"):
		problems = append(problems, fmt.Sprintf("--upstream %q is not an absolute http(s) URL", o.upstream))
	}
	if o.authority == "" {
		problems = append(problems, "--authority is required")
	}
	if len(o.audiences) == 0 {
		problems = append(problems, "at least one --audience is required")
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		problems = append(problems, fmt.Sprintf("--addr %q is not host:port", o.addr))
	}
	if o.revokePoll < 0 {
		problems = append(problems, fmt.Sprintf("--revocation-poll %s is negative (0 turns revocation checks off)", o.revokePoll))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: see `tessera proxy --help`", strings.Join(problems, "; "))
	}
	return up, nil
}

// requirements turns the flags into one requirement: any listed role or
// scope admits.
func (o *proxyOptions) requirements() []guard.Requirement {
	if len(o.roles) == 0 && len(o.scopes) == 0 {
		return nil
	}
	return []guard.Requirement{guard.AnyOf(guard.RequireRoles(o.roles...), guard.RequireScopes(o.scopes...))}
}

func (o *proxyOptions) run(cmd *cobra.Command) error {
	up, err := o.check()
	if err != nil {
		return withExit(ExitUsage, err)
	}
	client, err := httpClientTrusting(o.caFile)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

	ctx := cmd.Context()
	cfg := guard.Config{Authority: o.authority, Audiences: o.audiences, HTTPClient: client, Logger: log,
		RevocationPollInterval: revocationPollConfig(o.revokePoll)}
	if o.tenantHeader {
		cfg.TenantHeader = proxyTenantHeader
	}
	// On the way out, after the guard stops polling: hang up the
	// connections to the authority rather than leave them to its idle
	// timeout (the command may run inside a longer-lived process).
	defer client.CloseIdleConnections()
	g, err := guard.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%w (check --authority, that tessera serve is running, and --ca-file)", err)
	}
	defer g.Close()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another --addr)", o.addr, err)
	}
	srv := &http.Server{
		Handler:           guard.NewProxy(g, up, o.requirements()...),
		ReadHeaderTimeout: proxyReadHeaderTimeout,
		ReadTimeout:       proxyReadTimeout,
		WriteTimeout:      proxyWriteTimeout,
		IdleTimeout:       proxyIdleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("tessera proxy listening", "addr", "http://"+ln.Addr().String(), "upstream", up.String(), "authority", o.authority)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Finish the requests in flight, refuse new ones.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), proxyShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("tessera proxy stopped")
	return nil
}

// revocationPollConfig maps the flag, where 0 means off, to the guard's
// setting, where 0 means the default and a negative value off.
func revocationPollConfig(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// httpClientTrusting returns a client for the authority and upstream that
// trusts the system roots (which honour SSL_CERT_FILE) plus caFile.
func httpClientTrusting(caFile string) (*http.Client, error) {
	if caFile == "" {
		return &http.Client{Timeout: 10 * time.Second}, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read --ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}, nil
}
