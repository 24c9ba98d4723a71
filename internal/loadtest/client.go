package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// NewTransport is the one transport every virtual user shares: keep-alive
// with as many idle connections per host as there are users, so that a
// steady run reuses connections instead of measuring TLS handshakes. It
// sends only to the origins (scheme://host:port) of allowed: a load tool
// that followed a redirect or a server-given URL elsewhere would put load,
// and credentials, where nobody asked. Proxies from the environment are
// ignored for the same reason.
func NewTransport(caFile string, concurrency int, allowed ...string) (http.RoundTripper, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
		}
	}
	origins := map[string]bool{}
	for _, a := range allowed {
		if a == "" {
			continue
		}
		o, err := originOf(a)
		if err != nil {
			return nil, err
		}
		origins[o] = true
	}
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	return originGuard{next: t, origins: origins}, nil
}

// originOf is scheme://host:port with the default port made explicit.
func originOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not an http(s) URL", raw)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	return u.Scheme + "://" + strings.ToLower(net.JoinHostPort(u.Hostname(), port)), nil
}

// SameOrigin reports whether two URLs have the same scheme, host and port.
func SameOrigin(a, b string) bool {
	oa, err1 := originOf(a)
	ob, err2 := originOf(b)
	return err1 == nil && err2 == nil && oa == ob
}

type originGuard struct {
	next    http.RoundTripper
	origins map[string]bool
}

func (g originGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if o, err := originOf(r.URL.String()); err != nil || !g.origins[o] {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &Failure{Kind: "foreign_origin", Detail: "refused to send to " + r.URL.Redacted() + ": not one of the URLs given"}
	}
	return g.next.RoundTrip(r)
}

// noRedirects makes a client return redirects instead of following them.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// tokenResponse is the fields of a token endpoint's answer (RFC 6749 §5.1,
// §5.2; RFC 8628 §3.2 for the device authorization response) that the
// scenarios read.
type tokenResponse struct {
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	Error        string  `json:"error"`
	DeviceCode   string  `json:"device_code"`
	UserCode     string  `json:"user_code"`
	Interval     flexInt `json:"interval"`
	ExpiresIn    flexInt `json:"expires_in"`
}

// flexInt is a number that may come as a JSON string: Entra's v1 token
// responses send expires_in as "3599".
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// postForm posts form to endpoint and decodes the JSON answer. A non-2xx
// answer is a *Failure named by its OAuth error code when it has one
// (invalid_grant), by its status otherwise (status_503).
func postForm(ctx context.Context, hc *http.Client, endpoint string, form url.Values, basic [2]string) (tokenResponse, error) {
	return postEncoded(ctx, hc, endpoint, form.Encode(), basic)
}

// postEncoded is postForm with the form already encoded, for a request
// sent again and again (client credentials).
func postEncoded(ctx context.Context, hc *http.Client, endpoint, body string, basic [2]string) (tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(body))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic[0] != "" {
		// RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return doJSON(hc, req)
}

func postJSON(ctx context.Context, hc *http.Client, endpoint string, body any, header http.Header) (*http.Response, tokenResponse, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, tokenResponse{}, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint, bytes.NewReader(raw))
	if err != nil {
		return nil, tokenResponse{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	var res *http.Response
	tr, err := doJSONWith(hc, req, &res)
	return res, tr, err
}

func doJSON(hc *http.Client, req *http.Request) (tokenResponse, error) {
	return doJSONWith(hc, req, nil)
}

func doJSONWith(hc *http.Client, req *http.Request, resOut **http.Response) (tokenResponse, error) {
	res, err := hc.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	if resOut != nil {
		*resOut = res
	}
	raw, err := readBody(res)
	if err != nil {
		return tokenResponse{}, err
	}
	var tr tokenResponse
	jerr := json.Unmarshal(raw, &tr)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		f := statusFailure(req, res)
		if jerr == nil && tr.Error != "" {
			f.Kind, f.Detail = tr.Error, fmt.Sprintf("%s %s: %s", req.Method, req.URL.Path, res.Status)
		}
		return tr, f
	}
	if jerr != nil {
		return tr, failf("bad_json", "%s %s: %v", req.Method, req.URL.Path, jerr)
	}
	return tr, nil
}

func statusFailure(req *http.Request, res *http.Response) *Failure {
	f := &Failure{Kind: fmt.Sprintf("status_%d", res.StatusCode), Detail: fmt.Sprintf("%s %s", req.Method, req.URL.Path)}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
		f.Busy = true
		if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
			f.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return f
}

// readBody reads the whole body, so that the connection goes back to the
// pool, and closes it.
func readBody(res *http.Response) ([]byte, error) {
	defer res.Body.Close()
	const limit = 8 << 20
	if n := res.ContentLength; n >= 0 && n < limit {
		// Sized once from Content-Length (a token response: about 1.5
		// KB), instead of io.ReadAll's growing from 512 bytes; MinRead
		// spare, so that reading to EOF needs no second buffer.
		b := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
		_, err := b.ReadFrom(io.LimitReader(res.Body, limit))
		return b.Bytes(), err
	}
	return io.ReadAll(io.LimitReader(res.Body, limit))
}
