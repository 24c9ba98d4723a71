package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/loadtest"
)

type loadtestOptions struct {
	scenario, url, tenant, caFile string
	duration, warmup, timeout     time.Duration
	requests                      int64
	concurrency                   int
	serverPID                     int
	progress                      bool

	setup                                      bool
	verify                                     bool
	setupTag                                   string
	adminClientID, adminClientSecret, adminTok string

	clientID, clientSecret, scope, tokenURL, auth string
	redirectURI                                   string
	user, password, apiURL                        string

	output string
}

func newLoadtestCmd() *cobra.Command {
	o := &loadtestOptions{}
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Measure a server's throughput and latency under concurrent load",
		Long: `Run one scenario with --concurrency virtual users until --duration has passed
or --requests have been sent, whichever comes first (Ctrl-C stops at once),
after --warmup unmeasured. Report requests, errors by kind (status_401,
invalid_grant, timeout, conn_refused, …), requests/s, latency percentiles and,
with --server-pid, the server process's CPU time and RSS.

Scenarios:
  client-credentials     v2 token endpoint, scope {api}/.default (any OAuth server with --token-url)
  client-credentials-v1  v1 token endpoint, resource {api}
  refresh                each user logs in once (password grant, offline_access) and then
                         follows its own rotation chain; an invalid_grant is a lost rotation
  auth-code              a whole authorization code flow with PKCE per request, pages driven
                         over HTTP; the sign-in POST (password hashing) is timed on its own
  device-code            a whole device code flow per request, polling at the server's
                         interval: bound by that wait, so reported as flows/s
  password-login         POST /api/v1/users/login (the product-login API)
  guard                  GET {api-url}/api/v1/as-user/studies?limit=10 with a token fetched once

--setup creates what the scenarios need through the admin API (an API with a
Reader role and a Studies.Read scope, a confidential client with a secret, a
public client, a user; product login and refresh grace on in the tenant
policy), reusing what an earlier setup with the same --setup-tag made, and
prints it on stderr. Requests go only to --url, --token-url and --api-url.`,
		Example: `  tessera loadtest --scenario client-credentials --url https://127.0.0.1:8443 --ca-file tessera-data/ca.pem \
      --setup --admin-client-id $ADMIN_ID --admin-client-secret $ADMIN_SECRET --duration 10s --server-pid $(pgrep -n tessera)
  tessera loadtest --scenario client-credentials --token-url https://hydra:4444/oauth2/token --auth basic \
      --client-id ID --client-secret S --scope api --requests 10000 -o json
  tessera loadtest --scenario auth-code --url https://127.0.0.1:8443 --client-id $PUBLIC --user alice --password "$P" \
      --scope api://$API/Studies.Read --concurrency 4 -o table`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The load tool shares the cores with the server it measures:
			// every cycle its collector spends is one the server does not
			// get, so it runs at the server's GOGC (see tuneGC).
			tuneGC()
			return o.run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scenario, "scenario", "", "what to run: "+strings.Join(loadtest.Scenarios, ", "))
	f.StringVar(&o.url, "url", "", "the server, e.g. https://127.0.0.1:8443")
	f.StringVar(&o.tenant, "tenant", "default", "tenant (domain or id) in the server's paths")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust besides the system's")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "measure for this long (0: only --requests bounds the run)")
	f.Int64Var(&o.requests, "requests", 0, "stop after this many requests (0: only --duration bounds the run)")
	f.IntVar(&o.concurrency, "concurrency", 32, "virtual users sending at once")
	f.DurationVar(&o.warmup, "warmup", time.Second, "run this long before measuring, to open connections and warm caches")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on one HTTP request after this long (counted as timeout)")
	f.IntVar(&o.serverPID, "server-pid", 0, "report this process's CPU time and RSS over the run (Linux /proc)")
	f.BoolVar(&o.progress, "progress", false, "print a progress line every second on stderr even when it is not a terminal")
	f.BoolVar(&o.verify, "verify", false, "after the run, check that what each virtual user was last answered still holds (refresh: the last refresh token still rotates)")
	f.BoolVar(&o.setup, "setup", false, "create the apps, client, user and policy the scenario needs through the admin API")
	f.StringVar(&o.setupTag, "setup-tag", "tessera-loadtest", "name prefix of what --setup makes; the same tag reuses it")
	f.StringVar(&o.adminClientID, "admin-client-id", "", "admin client for --setup (e.g. the one the first start printed)")
	f.StringVar(&o.adminClientSecret, "admin-client-secret", "", "its secret (or TESSERA_ADMIN_CLIENT_SECRET)")
	f.StringVar(&o.adminTok, "admin-token", "", "an admin API token for --setup instead of a client (or TESSERA_ADMIN_TOKEN)")
	f.StringVar(&o.clientID, "client-id", "", "client id: the confidential client, or for user scenarios the public client")
	f.StringVar(&o.clientSecret, "client-secret", "", "the confidential client's secret (or TESSERA_CLIENT_SECRET)")
	f.StringVar(&o.scope, "scope", "", "scope: {api}/.default for clients; for user scenarios the API scope, e.g. api://X/Studies.Read")
	f.StringVar(&o.tokenURL, "token-url", "", "client credentials against this token endpoint instead of --url's (any OAuth server)")
	f.StringVar(&o.auth, "auth", "post", "how the client authenticates: post (client_secret_post) or basic (client_secret_basic)")
	f.StringVar(&o.redirectURI, "redirect-uri", "", "auth-code redirect URI (default: the setup client's, or http://localhost:8400 for the Azure CLI's client)")
	f.StringVar(&o.user, "user", "", "user name for the user scenarios")
	f.StringVar(&o.password, "password", "", "the user's password (or TESSERA_LOADTEST_PASSWORD)")
	f.StringVar(&o.apiURL, "api-url", "", "the example API for the guard scenario, e.g. http://127.0.0.1:8081")
	f.StringVarP(&o.output, "output", "o", "json", "report format: json (one object) or table")
	clientUsageErrors(cmd)
	return cmd
}

func (o *loadtestOptions) check() error {
	var problems []string
	if !slices.Contains(loadtest.Scenarios, o.scenario) {
		problems = append(problems, "--scenario must be one of "+strings.Join(loadtest.Scenarios, ", "))
	}
	if o.url == "" && o.tokenURL == "" {
		problems = append(problems, "--url is required (or --token-url for client credentials elsewhere)")
	}
	if o.duration <= 0 && o.requests <= 0 {
		problems = append(problems, "give a bound: --duration or --requests")
	}
	if o.concurrency < 1 {
		problems = append(problems, "--concurrency must be at least 1")
	}
	if o.output != "json" && o.output != "table" {
		problems = append(problems, "-o must be json or table")
	}
	if o.auth != "post" && o.auth != "basic" {
		problems = append(problems, "--auth must be post or basic")
	}
	if o.setup {
		if o.url == "" {
			problems = append(problems, "--setup needs --url: it creates the objects there")
		}
		// The credentials --setup makes belong to --url's server: sending
		// them to another token endpoint would hand them to a stranger.
		if o.tokenURL != "" && o.url != "" && !loadtest.SameOrigin(o.tokenURL, o.url) {
			problems = append(problems, "--setup with a --token-url on another server: the credentials it makes are for --url only")
		}
		if o.adminTok == "" && (o.adminClientID == "" || o.adminClientSecret == "") {
			problems = append(problems, "--setup needs --admin-token, or --admin-client-id and --admin-client-secret")
		}
	}
	if len(problems) > 0 {
		return usageErrorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func (o *loadtestOptions) env() {
	fill := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
	}
	fill(&o.adminClientSecret, "TESSERA_ADMIN_CLIENT_SECRET")
	fill(&o.adminTok, "TESSERA_ADMIN_TOKEN")
	fill(&o.clientSecret, "TESSERA_CLIENT_SECRET")
	fill(&o.password, "TESSERA_LOADTEST_PASSWORD")
}

func (o *loadtestOptions) run(cmd *cobra.Command) error {
	o.env()
	if err := o.check(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	stderr := cmd.ErrOrStderr()
	transport, err := loadtest.NewTransport(o.caFile, o.concurrency, o.url, o.tokenURL, o.apiURL)
	if err != nil {
		return usageErrorf("%v", err)
	}
	t := loadtest.Target{
		BaseURL: o.url, Tenant: o.tenant, Transport: transport, Timeout: o.timeout,
		ClientID: o.clientID, ClientSecret: o.clientSecret, Scope: o.scope, BasicAuth: o.auth == "basic", TokenURL: o.tokenURL,
		PublicClientID: o.clientID, RedirectURI: o.redirectURI, User: o.user, Password: o.password, UserScope: o.scope,
		APIURL: o.apiURL,
	}
	if o.setup {
		made, err := loadtest.Setup(ctx, loadtest.SetupConfig{
			BaseURL: o.url, Tenant: o.tenant, Transport: transport, AdminToken: o.adminTok,
			AdminClientID: o.adminClientID, AdminSecret: o.adminClientSecret, Tag: o.setupTag, User: o.user, Password: o.password,
		})
		if err != nil {
			return withExit(ExitError, fmt.Errorf("--setup: %w", err))
		}
		raw, _ := json.MarshalIndent(made, "", "  ")
		fmt.Fprintf(stderr, "# --setup made (reuse with --client-id/--client-secret/--user/--password):\n%s\n", raw)
		t.ClientID, t.ClientSecret, t.Scope = made.ClientID, made.ClientSecret, made.APIScope
		t.PublicClientID, t.RedirectURI, t.UserScope = made.PublicClientID, made.RedirectURI, made.UserScope
		t.User, t.Password = made.User, made.Password
	}
	if t.PublicClientID == "" {
		// The Azure CLI's public client is registered in every tenant with
		// loopback redirects on any port (RFC 8252 §7.3).
		t.PublicClientID = directory.CLIClientID
	}
	if t.RedirectURI == "" {
		t.RedirectURI = "http://localhost:8400"
	}
	sc, err := loadtest.NewScenario(o.scenario, t)
	if err != nil {
		return usageErrorf("%v", err)
	}
	opt := loadtest.Options{Concurrency: o.concurrency, Duration: o.duration, Requests: o.requests, Warmup: o.warmup, Verify: o.verify}
	if o.progress || isTerminal(stderr) {
		opt.Progress = stderr
	}
	if o.serverPID > 0 {
		pid := o.serverPID
		if _, err := loadtest.SampleProc(pid); err != nil {
			return usageErrorf("--server-pid %d: %v", pid, err)
		}
		opt.Probe = func() (loadtest.ProcSample, error) { return loadtest.SampleProc(pid) }
	}
	res, err := loadtest.Run(ctx, sc, opt)
	if err != nil {
		return withExit(ExitError, err)
	}
	out := cmd.OutOrStdout()
	if o.output == "table" {
		err = res.WriteTable(out)
	} else {
		err = res.WriteJSON(out)
	}
	if err != nil {
		return err
	}
	if res.Interrupted {
		return withExit(ExitError, errors.New("interrupted: the report covers the run until the stop"))
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
