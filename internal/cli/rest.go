package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/account"
)

// maxRestBody bounds a response `rest` buffers to print.
const maxRestBody = 64 << 20

type restOptions struct {
	url        string
	method     string
	body       string
	headers    []string
	params     []string
	paramsAlt  []string // --url-parameters; its own slice, as pflag resets a shared one
	resource   string
	scopes     []string
	skipAuthz  bool
	out        output
	restMethod string // upper-cased method, set by check
	deps       *Deps
}

func newRestCmd(d *Deps) *cobra.Command {
	o := &restOptions{deps: d}
	cmd := &cobra.Command{
		Use:   "rest",
		Short: "Call an API with the signed-in account's access token",
		Long: `Send an HTTP request with "Authorization: Bearer <token>" for the signed-in
account, as az rest does, and print the JSON response.

The token is for --resource (v1) or --scope (v2), served from the cache while
it has more than five minutes left, and then got again: a person's by the
refresh token, as get-access-token does. Without either no token is sent. A --url
starting with / is relative to the account's authority. --body takes a string
or @file; a JSON body is sent as application/json. --headers and
--uri-parameters take KEY=VALUE (repeat the flag) or a JSON object.

A response outside 2xx is an error: its status and body go to stderr and
the exit code is 1.`,
		Example: `  tessera rest --url https://api.example.com/orders --scope api://orders/.default
  tessera rest -m post --url https://api.example.com/orders --resource api://orders \
      --body '{"item":"tea"}' --headers If-Match=* --query id -o tsv
  tessera rest -m put --url https://api.example.com/orders/7 --scope api://orders/.default --body @order.json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "request URL; a path starting with / is relative to the account's authority")
	f.StringVar(&o.url, "uri", "", "alias of --url")
	_ = f.MarkHidden("uri")
	f.StringVarP(&o.method, "method", "m", "get", "HTTP method: delete, get, head, options, patch, post, put")
	f.StringVarP(&o.body, "body", "b", "", "request body, or @FILE to read it from a file")
	f.StringArrayVar(&o.headers, "headers", nil, "request header KEY=VALUE or a JSON object (repeatable)")
	f.StringArrayVar(&o.params, "uri-parameters", nil, "query parameter KEY=VALUE or a JSON object (repeatable)")
	f.StringArrayVar(&o.paramsAlt, "url-parameters", nil, "alias of --uri-parameters")
	_ = f.MarkHidden("url-parameters")
	f.StringVar(&o.resource, "resource", "", "v1 resource to get the token for, e.g. api://orders")
	f.StringArrayVar(&o.scopes, "scope", nil, "v2 scope to get the token for, e.g. api://orders/.default")
	f.BoolVar(&o.skipAuthz, "skip-authorization-header", false, "send no Authorization header")
	o.out.addFlags(cmd)
	clientUsageErrors(cmd)
	return cmd
}

func (o *restOptions) check() error {
	var problems []string
	if o.url == "" {
		problems = append(problems, "--url is required")
	}
	o.restMethod = strings.ToUpper(o.method)
	switch o.restMethod {
	case "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT":
	default:
		problems = append(problems, fmt.Sprintf("--method %q is not one of delete, get, head, options, patch, post, put", o.method))
	}
	if o.resource != "" && len(o.scopes) > 0 {
		problems = append(problems, "give --resource or --scope, not both")
	}
	if len(problems) > 0 {
		return usageErrorf("%s: see `tessera rest --help`", strings.Join(problems, "; "))
	}
	return nil
}

func (o *restOptions) run(cmd *cobra.Command) error {
	if err := o.check(); err != nil {
		return err
	}
	headers, err := parsePairs("--headers", o.headers)
	if err != nil {
		return err
	}
	params, err := parsePairs("--uri-parameters", append(o.params, o.paramsAlt...))
	if err != nil {
		return err
	}
	body, err := readBody(o.body)
	if err != nil {
		return err
	}

	// Every request goes through the login: it knows the authority (for a
	// relative --url) and the CA the user trusts.
	ctx := cmd.Context()
	s, err := o.deps.loadClientSession(ctx, "")
	if err != nil {
		return err
	}
	target, err := o.requestURL(s.profile.Authority, params)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, o.restMethod, target, bytes.NewReader(body))
	if err != nil {
		return usageErrorf("--url %q: %v", o.url, err)
	}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	if len(body) > 0 && req.Header.Get("Content-Type") == "" && json.Valid(body) {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if err := o.authorize(cmd, s, req); err != nil {
		return err
	}

	resp, err := s.client.HTTP.Do(req)
	if err != nil {
		return account.TransportError(target, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxRestBody))
	if err != nil {
		return fmt.Errorf("reading the response of %s %s: %w", o.restMethod, target, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s answered %s: %s", o.restMethod, target, resp.Status, oneLine(respBody))
	}
	if len(bytes.TrimSpace(respBody)) == 0 {
		return nil
	}
	if json.Valid(respBody) {
		return o.out.print(cmd.OutOrStdout(), json.RawMessage(respBody))
	}
	// Not JSON: print it as it came, as az does.
	_, err = cmd.OutOrStdout().Write(respBody)
	return err
}

// authorize sets the bearer token unless the caller set its own
// Authorization header or asked for none. Without --resource or --scope
// there is nothing to ask the server for; az then warns and sends none.
func (o *restOptions) authorize(cmd *cobra.Command, s *clientSession, req *http.Request) error {
	if o.skipAuthz || req.Header.Get("Authorization") != "" {
		return nil
	}
	t := account.Target{Scope: strings.Join(o.scopes, " "), Resource: o.resource}
	if t.Validate() != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: no --resource or --scope, so no access token is sent: give one to call a protected API")
		return nil
	}
	tok, err := s.token(req.Context(), t)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return nil
}

// requestURL resolves a relative --url against the authority and adds the
// query parameters.
func (o *restOptions) requestURL(authority string, params [][2]string) (string, error) {
	raw := o.url
	if strings.HasPrefix(raw, "/") {
		raw = account.NormalizeAuthority(authority) + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", usageErrorf("--url %q is not an http(s) URL or a path starting with /", o.url)
	}
	if len(params) > 0 {
		q := u.Query()
		for _, p := range params {
			q.Add(p[0], p[1])
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// parsePairs reads az's KEY=VALUE or JSON-object forms, in order.
func parsePairs(flag string, values []string) ([][2]string, error) {
	var out [][2]string
	for _, v := range values {
		if strings.HasPrefix(strings.TrimSpace(v), "{") {
			var m map[string]string
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				return nil, usageErrorf("%s %q is not a JSON object of strings: %v", flag, v, err)
			}
			// Sorted, so the same flags make the same request.
			for _, k := range slices.Sorted(maps.Keys(m)) {
				out = append(out, [2]string{k, m[k]})
			}
			continue
		}
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usageErrorf("%s %q is not KEY=VALUE", flag, v)
		}
		out = append(out, [2]string{k, val})
	}
	return out, nil
}

func readBody(b string) ([]byte, error) {
	if name, ok := strings.CutPrefix(b, "@"); ok {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, usageErrorf("--body @%s: %v", name, err)
		}
		return data, nil
	}
	return []byte(b), nil
}

// oneLine keeps an error body to one line on stderr: compact JSON, or text
// with its newlines folded.
func oneLine(body []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, body) == nil {
		return buf.String()
	}
	return strings.Join(strings.Fields(string(body)), " ")
}
