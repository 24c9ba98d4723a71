package e2e

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// The pages (internal/web) mark what they are with data-page on <main>:
// signin, select_account, consent, device, device_done, form_post, logout
// (the logout confirmation), still_signed_in, signed_out, error. Their
// forms post a hidden csrf_token and, inside a sign-in, a sealed flow;
// the helpers below send every hidden field back as it came, as a browser
// does, and fill in only what a person types.

// page is one HTML page the server answered with.
type page struct {
	status int
	kind   string // data-page
	body   string
	forms  []pageForm
}

// pageForm is a <form> with its fields.
type pageForm struct {
	id, action, method string
	fields             url.Values // inputs with a name, hidden or not
}

var (
	reForm     = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	reInput    = regexp.MustCompile(`<input\b([^>]*)>`)
	reAttr     = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"`)
	reDataPage = regexp.MustCompile(`<main\b[^>]*\bdata-page="([^"]*)"`)
	reMessage  = regexp.MustCompile(`(?s)<p\b[^>]*class="message[^"]*"[^>]*>(.*?)</p>`)
)

func attrsOf(s string) map[string]string {
	out := map[string]string{}
	for _, m := range reAttr.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func parsePage(status int, body string) page {
	p := page{status: status, body: body}
	if m := reDataPage.FindStringSubmatch(body); m != nil {
		p.kind = m[1]
	}
	for _, fm := range reForm.FindAllStringSubmatch(body, -1) {
		a := attrsOf(fm[1])
		f := pageForm{id: a["id"], action: a["action"], method: strings.ToUpper(a["method"]), fields: url.Values{}}
		for _, im := range reInput.FindAllStringSubmatch(fm[2], -1) {
			ia := attrsOf(im[1])
			if ia["name"] != "" {
				f.fields.Add(ia["name"], ia["value"])
			}
		}
		p.forms = append(p.forms, f)
	}
	return p
}

// message is the page's notice (a sign-in error, a lockout), as text.
func (p page) message() string {
	if m := reMessage.FindStringSubmatch(p.body); m != nil {
		return strings.TrimSpace(html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], "")))
	}
	return ""
}

func (p page) form(t *testing.T, id string) pageForm {
	t.Helper()
	for _, f := range p.forms {
		if f.id == id {
			return f
		}
	}
	t.Fatalf("the %q page (status %d) has no form %q:\n%s", p.kind, p.status, id, p.body)
	return pageForm{}
}

// browser is a cookie-keeping client for the pages. It follows redirects
// within the server and stops at any other, so that the redirect to a
// client's redirect URI is returned instead of followed.
type browser struct {
	t    *testing.T
	h    *harness
	c    *http.Client
	last *url.URL // the URL of the last page, to resolve form actions
}

func (h *harness) newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base := h.srv.URL
	c := &http.Client{Jar: jar, Timeout: h.http.Timeout, Transport: h.http.Transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 10 {
				return http.ErrUseLastResponse
			}
			if !strings.HasPrefix(req.URL.String(), base+"/") {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return &browser{t: t, h: h, c: c}
}

// do sends req and returns either the page it led to or, for a redirect
// away from the server, where it pointed.
func (b *browser) do(req *http.Request) (page, *url.URL) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Location()
		if err != nil {
			b.t.Fatalf("redirect %d without a Location", resp.StatusCode)
		}
		return page{status: resp.StatusCode}, loc
	}
	b.last = resp.Request.URL
	return parsePage(resp.StatusCode, string(raw)), nil
}

func (b *browser) get(rawURL string) (page, *url.URL) {
	b.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// submit posts a form with its hidden fields, the values given, and the
// button named by button ("name=value"; "" for none).
func (b *browser) submit(f pageForm, set url.Values, button string) (page, *url.URL) {
	b.t.Helper()
	form := url.Values{}
	for k, v := range f.fields {
		form[k] = append([]string(nil), v...)
	}
	for k, v := range set {
		form[k] = v
	}
	if button != "" {
		k, v, _ := strings.Cut(button, "=")
		form.Set(k, v)
	}
	action, err := b.last.Parse(f.action)
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// walk answers the pages of a sign-in as a person who accepts: it signs in
// with username and password, continues as the signed-in account, and
// accepts consent, until the server redirects away (to the client) or
// shows a page that needs no answer. A form_post answer is returned as
// its action URL with the posted fields as query parameters.
func (b *browser) walk(p page, next *url.URL, username, password string) (page, *url.URL) {
	b.t.Helper()
	for range 10 {
		if next != nil {
			return p, next
		}
		switch p.kind {
		case "signin":
			p, next = b.submit(p.form(b.t, "signin"), url.Values{"username": {username}, "password": {password}}, "")
		case "select_account":
			p, next = b.submit(p.form(b.t, "select_account"), nil, "account=continue")
		case "consent":
			p, next = b.submit(p.form(b.t, "consent"), nil, "decision=accept")
		case "form_post":
			f := p.form(b.t, "form_post")
			u, err := url.Parse(f.action)
			if err != nil {
				b.t.Fatal(err)
			}
			u.RawQuery = f.fields.Encode()
			return p, u
		default:
			return p, nil
		}
	}
	b.t.Fatalf("sign-in did not end after 10 pages; last %q:\n%s", p.kind, p.body)
	return p, nil
}

// authorizeWithPassword opens authorizeURL in a fresh browser (no single
// sign-on), signs in with username and password, accepts consent when it
// is asked, and returns the final redirect to the client's redirect URI
// without following it. A form_post response comes back as a URL whose
// query holds the posted fields.
func (h *harness) authorizeWithPassword(t *testing.T, authorizeURL, username, password string) (redirect *url.URL) {
	t.Helper()
	b := h.newBrowser(t)
	p, next := b.get(authorizeURL)
	p, next = b.walk(p, next, username, password)
	if next == nil {
		t.Fatalf("authorize ended on the %q page (status %d) instead of a redirect to the client: %s\n%s", p.kind, p.status, p.message(), p.body)
	}
	return next
}

// approveDevice enters a device flow's user code at /{tenant}/devicelogin
// in a fresh browser, signs in, and approves the device.
func (h *harness) approveDevice(t *testing.T, userCode, username, password string) {
	t.Helper()
	b := h.newBrowser(t)
	p, next := b.get(h.srv.URL + "/" + h.tenant() + "/devicelogin")
	if next != nil {
		t.Fatalf("devicelogin redirected to %s", next)
	}
	p, next = b.submit(p.form(t, "device"), url.Values{"user_code": {userCode}}, "")
	p, next = b.walk(p, next, username, password)
	if next != nil {
		t.Fatalf("device approval redirected to %s", next)
	}
	if p.kind != "device_done" {
		t.Fatalf("device approval ended on the %q page (status %d): %s\n%s", p.kind, p.status, p.message(), p.body)
	}
}

// TestPageHelpers keeps the helpers above honest against the real pages:
// the CLI's public client signs in on a loopback port with PKCE, and a
// device code is approved.
func TestPageHelpers(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	tid := h.tenant()
	if _, err := h.srv.Directory.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "alice", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 Appendix B
	u := h.srv.URL + "/" + tid + "/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {directory.CLIClientID}, "redirect_uri": {"http://localhost:8400"}, "response_type": {"code"},
		"scope": {"openid profile offline_access"}, "state": {"s1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}.Encode()
	redirect := h.authorizeWithPassword(t, u, "alice", "correct horse battery")
	if redirect.Host != "localhost:8400" || redirect.Query().Get("state") != "s1" || redirect.Query().Get("code") == "" {
		t.Fatalf("redirect %s", redirect)
	}
	if _, _, err := h.srv.Sessions.RedeemCode(ctx, tid, redirect.Query().Get("code")); err != nil {
		t.Fatalf("redeem: %v", err)
	}

	dc, uc, _, err := h.srv.Sessions.StartDevice(ctx, tid, directory.CLIClientID, []string{"openid", "profile", "offline_access"}, "")
	if err != nil {
		t.Fatal(err)
	}
	h.approveDevice(t, uc, "alice", "correct horse battery")
	if _, g, err := h.srv.Sessions.PollDevice(ctx, tid, dc, directory.CLIClientID); err != nil || g.ID == "" {
		t.Fatalf("poll after approval: %v", err)
	}
}
