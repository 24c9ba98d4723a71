package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Scenarios is every scenario name, in the order the help lists them.
var Scenarios = []string{"client-credentials", "client-credentials-v1", "refresh", "auth-code", "device-code", "password-login", "guard"}

// Target is where and as whom a scenario sends.
type Target struct {
	// BaseURL is the server, e.g. https://127.0.0.1:8443, and Tenant the
	// tenant in its paths (a domain or an id).
	BaseURL string
	Tenant  string
	// Transport is shared by every virtual user (NewTransport).
	Transport http.RoundTripper
	// Timeout bounds one HTTP request (default 30 s).
	Timeout time.Duration

	// A confidential client, for the client-credentials scenarios and the
	// guard's token. Scope is the v2 scope, {api}/.default; the v1
	// scenario sends it as resource, without "/.default".
	ClientID, ClientSecret, Scope string
	// BasicAuth sends the client's credentials with HTTP Basic instead of
	// in the form (client_secret_basic rather than client_secret_post).
	BasicAuth bool
	// TokenURL, if set, replaces {BaseURL}/{Tenant}/oauth2/v2.0/token for
	// the client-credentials scenarios: any OAuth server will do.
	TokenURL string

	// A public client and a user, for the user scenarios. UserScope is
	// the API scope a user's token is for (api://…/Studies.Read); openid
	// and offline_access are added.
	PublicClientID, RedirectURI string
	User, Password, UserScope   string

	// APIURL is the example API (examples/studies) the guard scenario calls.
	APIURL string

	// Observe, if set, is told every authorization code and token the
	// user scenarios are answered with (kind "code", "refresh_token" or
	// "access_token"), from many goroutines at once: a crash test checks
	// with it that nothing was issued twice. Not for the CLI, which never
	// keeps a token.
	Observe func(kind, value string)
}

func (t Target) observe(kind, value string) {
	if t.Observe != nil && value != "" {
		t.Observe(kind, value)
	}
}

func (t Target) client() *http.Client {
	to := t.Timeout
	if to <= 0 {
		to = 30 * time.Second
	}
	return &http.Client{Transport: t.Transport, Timeout: to, CheckRedirect: noRedirects}
}

func (t Target) endpoint(path string) string {
	return strings.TrimRight(t.BaseURL, "/") + "/" + url.PathEscape(t.Tenant) + path
}

func (t Target) tokenURL() string {
	if t.TokenURL != "" {
		return t.TokenURL
	}
	return t.endpoint("/oauth2/v2.0/token")
}

// NewScenario builds the named scenario against t, or says what it lacks.
func NewScenario(name string, t Target) (Scenario, error) {
	need := func(what ...string) error {
		var missing []string
		for i := 0; i < len(what); i += 2 {
			if what[i+1] == "" {
				missing = append(missing, what[i])
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("scenario %s needs %s (or --setup)", name, strings.Join(missing, ", "))
		}
		return nil
	}
	if t.BaseURL == "" && t.TokenURL == "" {
		return Scenario{}, fmt.Errorf("scenario %s needs --url", name)
	}
	hc := t.client()
	switch name {
	case "client-credentials", "client-credentials-v1":
		if err := need("--client-id", t.ClientID, "--client-secret", t.ClientSecret, "--scope", t.Scope); err != nil {
			return Scenario{}, err
		}
		w := newClientCredentials(t, hc, name == "client-credentials-v1")
		return Scenario{Name: name, Unit: "requests", NewWorker: func(context.Context, int) (Worker, error) { return w, nil }}, nil
	case "guard":
		if err := need("--api-url", t.APIURL, "--client-id", t.ClientID, "--client-secret", t.ClientSecret, "--scope", t.Scope); err != nil {
			return Scenario{}, err
		}
		return guardScenario(t, hc), nil
	case "password-login":
		if err := need("--url", t.BaseURL, "--user", t.User, "--password", t.Password); err != nil {
			return Scenario{}, err
		}
		w := &passwordLogin{t: t, hc: hc}
		return Scenario{Name: name, Unit: "requests", NewWorker: func(context.Context, int) (Worker, error) { return w, nil }}, nil
	case "refresh":
		if err := need("--url", t.BaseURL, "--user", t.User, "--password", t.Password); err != nil {
			return Scenario{}, err
		}
		return Scenario{Name: name, Unit: "requests", NewWorker: func(ctx context.Context, _ int) (Worker, error) {
			w := &refreshChain{t: t, hc: hc}
			return w, w.Ready(ctx)
		}}, nil
	case "auth-code":
		if err := need("--url", t.BaseURL, "--user", t.User, "--password", t.Password); err != nil {
			return Scenario{}, err
		}
		return Scenario{Name: name, Unit: "flows", NewWorker: func(context.Context, int) (Worker, error) { return &authCode{t: t}, nil }}, nil
	case "device-code":
		if err := need("--url", t.BaseURL, "--user", t.User, "--password", t.Password); err != nil {
			return Scenario{}, err
		}
		return Scenario{Name: name, Unit: "flows", NewWorker: func(context.Context, int) (Worker, error) { return &deviceCode{t: t, hc: hc}, nil }}, nil
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q: one of %s", name, strings.Join(Scenarios, ", "))
}

// clientCredentials is RFC 6749 §4.4 at the v2 endpoint (scope) or the v1
// endpoint (resource, as Azure Resource Manager's how-to sends it). It is
// stateless, so every virtual user shares one.
type clientCredentials struct {
	t  Target
	hc *http.Client
	v1 bool
	// endpoint, body (the encoded form) and basic are the same for every
	// request of a run: encoded once, so that the load tool's own CPU,
	// which shares the machine with the server, stays small.
	endpoint, body string
	basic          [2]string
}

func newClientCredentials(t Target, hc *http.Client, v1 bool) *clientCredentials {
	c := &clientCredentials{t: t, hc: hc, v1: v1}
	var form url.Values
	c.endpoint, form, c.basic = c.form()
	c.body = form.Encode()
	return c
}

func (c *clientCredentials) form() (string, url.Values, [2]string) {
	form := url.Values{"grant_type": {"client_credentials"}}
	endpoint := c.t.tokenURL()
	if c.v1 {
		form.Set("resource", strings.TrimSuffix(c.t.Scope, "/.default"))
		if c.t.TokenURL == "" {
			endpoint = c.t.endpoint("/oauth2/token")
		}
	} else {
		form.Set("scope", c.t.Scope)
	}
	var basic [2]string
	if c.t.BasicAuth {
		basic = [2]string{c.t.ClientID, c.t.ClientSecret}
	} else {
		form.Set("client_id", c.t.ClientID)
		form.Set("client_secret", c.t.ClientSecret)
	}
	return endpoint, form, basic
}

func (c *clientCredentials) token(ctx context.Context) (string, error) {
	tr, err := postEncoded(ctx, c.hc, c.endpoint, c.body, c.basic)
	if err != nil {
		return "", err
	}
	if tr.AccessToken == "" {
		return "", failf("no_access_token", "the token response has no access_token")
	}
	return tr.AccessToken, nil
}

func (c *clientCredentials) Do(ctx context.Context, _ *Recorder) error {
	_, err := c.token(ctx)
	return err
}

// guardScenario calls the example API with a token fetched once for the
// whole run: what is measured is the guard's verification (signature,
// claims, revocation feed lookup) and the API behind it, not issuance.
func guardScenario(t Target, hc *http.Client) Scenario {
	cc := newClientCredentials(t, hc, false)
	tok := sync.OnceValues(func() (string, error) {
		// Not the first worker's context: every worker waits on this one.
		ctx, cancel := context.WithTimeout(context.Background(), hc.Timeout)
		defer cancel()
		return cc.token(ctx)
	})
	target := strings.TrimRight(t.APIURL, "/") + "/api/v1/as-user/studies?limit=10"
	return Scenario{Name: "guard", Unit: "requests", NewWorker: func(context.Context, int) (Worker, error) {
		at, err := tok()
		if err != nil {
			return nil, fmt.Errorf("getting the token the guard scenario presents: %w", err)
		}
		return &guardCall{hc: hc, url: target, token: at, tenant: t.Tenant}, nil
	}}
}

type guardCall struct {
	hc                 *http.Client
	url, token, tenant string
}

func (g *guardCall) Do(ctx context.Context, _ *Recorder) error {
	req, err := http.NewRequestWithContext(ctx, "GET", g.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("X-Tenant-ID", g.tenant)
	res, err := g.hc.Do(req)
	if err != nil {
		return err
	}
	if _, err := readBody(res); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return statusFailure(req, res)
	}
	return nil
}

// passwordLogin is the product-login API: POST /api/v1/users/login with a
// JSON body, the token in the Authorization header of the answer.
type passwordLogin struct {
	t  Target
	hc *http.Client
}

func (p *passwordLogin) Do(ctx context.Context, rec *Recorder) error {
	endpoint := strings.TrimRight(p.t.BaseURL, "/") + "/api/v1/users/login"
	body := map[string]string{"username": p.t.User, "password": p.t.Password, "tenant": p.t.Tenant}
	res, tr, err := postJSON(ctx, p.hc, endpoint, body, http.Header{"X-Tenant-Id": {p.t.Tenant}})
	if err != nil {
		return err
	}
	if !strings.HasPrefix(res.Header.Get("Authorization"), "Bearer ") || tr.AccessToken == "" {
		return failf("no_access_token", "the login answer has no bearer token")
	}
	return nil
}
