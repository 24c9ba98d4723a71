package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// secretRecorder is the harness's HTTP transport. Besides carrying every
// request of the test's clients (the oauth2 library's, MSAL's, the page
// walker's), it keeps every secret that crossed it either way: passwords,
// client secrets and assertions, codes, verifiers, device codes, access,
// refresh and ID tokens, secrets the admin API showed once, cookie
// values. When the harness stops, none of them may be in a line the
// server logged or in an audit row (issue 8: the end-to-end suites, then
// a scan of every log line and the audit table). Tests that hand-pick
// values (assertNotLogged) still do; this catches what they did not name.
type secretRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string]struct{}
}

// secretParams are the request and response fields that hold a secret.
var secretParams = []string{"password", "client_secret", "client_assertion", "assertion", "code", "code_verifier",
	"device_code", "refresh_token", "access_token", "id_token", "token", "secretText", "secret_text"}

// minSecretLen skips values too short to be a real secret (the garbage
// tests send on purpose, "x", "nope"), which could match unrelated text.
const minSecretLen = 10

func (s *secretRecorder) add(v string) {
	if len(v) < minSecretLen {
		return
	}
	s.mu.Lock()
	s.seen[v] = struct{}{}
	s.mu.Unlock()
}

func (s *secretRecorder) values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.seen))
	for v := range s.seen {
		out = append(out, v)
	}
	return out
}

// CloseIdleConnections closes the base transport's idle connections, so
// that http.Client.CloseIdleConnections reaches them through the recorder.
func (s *secretRecorder) CloseIdleConnections() {
	if c, ok := s.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (s *secretRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, pass, ok := r.BasicAuth(); ok {
		s.add(pass)
		if p, err := url.QueryUnescape(pass); err == nil {
			s.add(p)
		}
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		s.add(tok)
	}
	for _, k := range secretParams {
		s.add(r.URL.Query().Get(k))
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.collect(r.Header.Get("Content-Type"), body)
	}
	res, err := s.base.RoundTrip(r)
	if err != nil {
		return res, err
	}
	if loc, err := res.Location(); err == nil {
		for _, k := range secretParams {
			s.add(loc.Query().Get(k))
		}
		if frag, err := url.ParseQuery(loc.Fragment); err == nil {
			for _, k := range secretParams {
				s.add(frag.Get(k))
			}
		}
	}
	for _, c := range res.Cookies() {
		s.add(c.Value)
	}
	if tok, ok := strings.CutPrefix(res.Header.Get("Authorization"), "Bearer "); ok {
		s.add(tok)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	s.collect(res.Header.Get("Content-Type"), body)
	return res, nil
}

// hiddenInput finds a form_post response's fields (and any page's hidden
// secrets): <input type="hidden" name="code" value="…">.
var hiddenInput = regexp.MustCompile(`name="([a-z_]+)"\s+value="([^"]*)"`)

func (s *secretRecorder) collect(contentType string, body []byte) {
	ct, _, _ := mime.ParseMediaType(contentType)
	switch ct {
	case "application/x-www-form-urlencoded":
		if form, err := url.ParseQuery(string(body)); err == nil {
			for _, k := range secretParams {
				s.add(form.Get(k))
			}
		}
	case "application/json":
		var v any
		if json.Unmarshal(body, &v) == nil {
			s.walkJSON(v)
		}
	case "text/html":
		for _, m := range hiddenInput.FindAllSubmatch(body, -1) {
			if isSecretParam(string(m[1])) {
				s.add(htmlUnescape(string(m[2])))
			}
		}
	}
}

func (s *secretRecorder) walkJSON(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			// "code" in JSON is an error's code ({"error":{"code":…}}):
			// authorization codes travel in redirects and forms.
			if str, ok := x.(string); ok && isSecretParam(k) && k != "code" {
				s.add(str)
				continue
			}
			s.walkJSON(x)
		}
	case []any:
		for _, x := range v {
			s.walkJSON(x)
		}
	}
}

func isSecretParam(k string) bool {
	for _, p := range secretParams {
		if strings.EqualFold(k, p) {
			return true
		}
	}
	return false
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&quot;", `"`, "&#39;", "'").Replace(s)
}

// findSecrets reports which of values occur in text, looking for a JWT
// also by its signature alone. Most values are made of token characters:
// the text is cut at every other character once and each piece (and each
// dot-separated part of it) looked up, so thousands of values cost one
// pass. A value with other characters (a password with spaces) is looked
// for whole.
func findSecrets(text string, values []string) []int {
	byProbe := map[string][]int{}
	var odd []int
	for i, v := range values {
		if strings.IndexFunc(v, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
			odd = append(odd, i)
			continue
		}
		byProbe[v] = append(byProbe[v], i)
		if parts := strings.Split(v, "."); len(parts) == 3 && len(parts[2]) > 16 {
			byProbe[parts[2]] = append(byProbe[parts[2]], i)
		}
	}
	found := map[int]bool{}
	for _, piece := range strings.FieldsFunc(text, func(r rune) bool { return !isTokenChar(r) }) {
		for _, i := range byProbe[piece] {
			found[i] = true
		}
		if strings.Contains(piece, ".") {
			for _, part := range strings.Split(piece, ".") {
				for _, i := range byProbe[part] {
					found[i] = true
				}
			}
		}
	}
	for _, i := range odd {
		if strings.Contains(text, values[i]) {
			found[i] = true
		}
	}
	out := make([]int, 0, len(found))
	for i := range found {
		out = append(out, i)
	}
	return out
}

// isTokenChar: the characters of opaque values, JWTs (base64url and dots)
// and secrets (tss_ prefixes). Not '=', which logfmt puts between a key
// and its value, nor '+' and '/': a value with those is looked for whole.
func isTokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~'
}
