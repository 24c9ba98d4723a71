package loadtest

import (
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// The sign-in pages are driven over HTTP as a browser would, without one:
// every page marks what it is with data-page on <main> (signin,
// select_account, consent, device, device_done, form_post, signed_out,
// error); forms carry a hidden csrf_token and, inside a sign-in, a sealed
// flow, which are sent back as they came, while only what a person types
// is filled in.

type page struct {
	status int
	kind   string
	forms  []pageForm
	url    *url.URL // where the page was served, to resolve form actions
}

type pageForm struct {
	id, action string
	fields     url.Values
}

var (
	reForm     = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	reInput    = regexp.MustCompile(`<input\b([^>]*)>`)
	reAttr     = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"`)
	reDataPage = regexp.MustCompile(`<main\b[^>]*\bdata-page="([^"]*)"`)
)

func attrsOf(s string) map[string]string {
	out := map[string]string{}
	for _, m := range reAttr.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func parsePage(status int, body string, at *url.URL) page {
	p := page{status: status, url: at}
	if m := reDataPage.FindStringSubmatch(body); m != nil {
		p.kind = m[1]
	}
	for _, fm := range reForm.FindAllStringSubmatch(body, -1) {
		a := attrsOf(fm[1])
		f := pageForm{id: a["id"], action: a["action"], fields: url.Values{}}
		for _, im := range reInput.FindAllStringSubmatch(fm[2], -1) {
			if ia := attrsOf(im[1]); ia["name"] != "" {
				f.fields.Add(ia["name"], ia["value"])
			}
		}
		p.forms = append(p.forms, f)
	}
	return p
}

func (p page) form(id string) (pageForm, error) {
	for _, f := range p.forms {
		if f.id == id {
			return f, nil
		}
	}
	return pageForm{}, failf("unexpected_page", "the %q page (status %d) has no form %q", p.kind, p.status, id)
}

// browser is one person's cookie jar over the shared transport. It follows
// redirects within the server and returns any other (the redirect to the
// client's redirect URI) unfollowed.
type browser struct {
	c *http.Client
}

func newBrowser(t Target) *browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	base := strings.TrimRight(t.BaseURL, "/") + "/"
	hc := t.client()
	hc.Jar = jar
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 || !strings.HasPrefix(req.URL.String(), base) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &browser{c: hc}
}

// do sends req and returns the page it led to or, for a redirect away from
// the server, where it pointed.
func (b *browser) do(req *http.Request) (page, *url.URL, error) {
	res, err := b.c.Do(req)
	if err != nil {
		return page{}, nil, err
	}
	raw, err := readBody(res)
	if err != nil {
		return page{}, nil, err
	}
	if res.StatusCode >= 300 && res.StatusCode < 400 {
		loc, err := res.Location()
		if err != nil {
			return page{}, nil, failf("bad_redirect", "%d without a Location", res.StatusCode)
		}
		return page{status: res.StatusCode}, loc, nil
	}
	return parsePage(res.StatusCode, string(raw), res.Request.URL), nil, nil
}

func (b *browser) get(ctx context.Context, rawURL string) (page, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", rawURL, nil)
	if err != nil {
		return page{}, nil, err
	}
	return b.do(req)
}

// submit posts f with its hidden fields and the values of set.
func (b *browser) submit(ctx context.Context, p page, f pageForm, set url.Values) (page, *url.URL, error) {
	form := url.Values{}
	for k, v := range f.fields {
		form[k] = v
	}
	for k, v := range set {
		form[k] = v
	}
	action, err := p.url.Parse(f.action)
	if err != nil {
		return page{}, nil, failf("unexpected_page", "form action %q: %v", f.action, err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return page{}, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// walk answers a sign-in's pages as a person who accepts, until the server
// redirects away or shows a page that needs no answer. The sign-in POST,
// where the server hashes the password, is timed on its own as "signin".
func (b *browser) walk(ctx context.Context, p page, next *url.URL, user, password string, rec *Recorder) (page, *url.URL, error) {
	signedIn := false
	for range 10 {
		if next != nil {
			return p, next, nil
		}
		var err error
		switch p.kind {
		case "signin":
			// A second sign-in page is a refused password: submitting it
			// again would only walk the account into its lockout.
			if signedIn {
				return p, nil, failf("signin_refused", "the sign-in page came back (status %d)", p.status)
			}
			signedIn = true
			f, ferr := p.form("signin")
			if ferr != nil {
				return p, nil, ferr
			}
			t0 := time.Now()
			p, next, err = b.submit(ctx, p, f, url.Values{"username": {user}, "password": {password}})
			rec.Phase("signin", time.Since(t0))
		case "select_account":
			f, ferr := p.form("select_account")
			if ferr != nil {
				return p, nil, ferr
			}
			p, next, err = b.submit(ctx, p, f, url.Values{"account": {"continue"}})
		case "consent":
			f, ferr := p.form("consent")
			if ferr != nil {
				return p, nil, ferr
			}
			p, next, err = b.submit(ctx, p, f, url.Values{"decision": {"accept"}})
		case "error":
			return p, nil, failf("error_page", "the server showed its error page (status %d)", p.status)
		default:
			return p, nil, nil
		}
		if err != nil {
			return p, nil, err
		}
	}
	return p, nil, failf("unexpected_page", "the sign-in did not end after 10 pages")
}
