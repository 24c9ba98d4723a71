package web

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageNames are the pages; each is templates/{name}.html inside
// templates/layout.html, and names itself in <main data-page>, which
// tests (and people reading the HTML) use to tell the pages apart.
var pageNames = []string{"signin", "select_account", "consent", "device", "device_done", "form_post", "logout", "still_signed_in", "signed_out", "error"}

func parsePages() map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// view is what every page template may show. One struct for all pages
// keeps the templates' contract in one place.
type view struct {
	Page    string // data-page, also the template
	Title   string
	Nonce   string // CSP nonce of the inline style and script
	CSRF    string // the form's csrf_token
	Flow    string // the sealed flow, hidden field "flow"
	Action  string // the form's action
	Message string // a notice: a sign-in error, a lockout

	AppName     string
	Account     string // the signed-in user's name
	Username    string // prefilled user name
	Permissions []permission
	Device      bool
	UserCode    string
	Declined    bool

	Accounts []account // logout: the sessions the browser holds

	Target  string  // form_post: the redirect URI
	Fields  []field // form_post, logout: hidden fields posted back
	TraceID string
}

type permission struct {
	Value, Title, Description, Resource string
}

type field struct{ Name, Value string }

// account is a session's user and tenant as the logout page names them.
type account struct{ User, Tenant string }

// newNonce returns a fresh CSP nonce (CSP3 §6.7.2.2: unguessable, new for
// every response).
func newNonce() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// secureHeaders sets the headers every answer of this package carries.
// The CSP allows only the nonce'd inline style (and, for form_post, the
// nonce'd script), form submissions to this server and to formOrigins,
// and no framing (clickjacking of the consent page, RFC 6749 §10.13).
// formOrigins name the client's redirect origin on pages of a sign-in:
// Chromium applies form-action to the redirects that follow a form
// submission, and the sign-in and consent forms end in one to the client.
func secureHeaders(w http.ResponseWriter, nonce string, script bool, formOrigins ...string) {
	hd := w.Header()
	var csp strings.Builder
	csp.WriteString("default-src 'none'")
	if nonce != "" {
		csp.WriteString("; style-src 'nonce-" + nonce + "'")
		if script {
			csp.WriteString("; script-src 'nonce-" + nonce + "'")
		}
	}
	csp.WriteString("; form-action 'self'")
	for _, o := range formOrigins {
		if o != "" {
			csp.WriteString(" " + o)
		}
	}
	csp.WriteString("; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("Content-Security-Policy", csp.String())
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	// Pages carry CSRF tokens and sealed flows, redirects carry codes:
	// none may be cached (RFC 6749 §5.1 for the same reason on tokens).
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
}

// render writes a page. formOrigins are extra form-action sources.
func (h *Handler) render(w http.ResponseWriter, status int, v view, formOrigins ...string) {
	t, ok := h.pages[v.Page]
	if !ok {
		panic("web: no page " + v.Page)
	}
	v.Nonce = newNonce()
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("web: render", "page", v.Page, "err", err)
		secureHeaders(w, "", false)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	secureHeaders(w, v.Nonce, v.Page == "form_post", formOrigins...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

var (
	schemeRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)
	hostRE   = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+$`)
)

// cspOrigin returns the CSP source expression for a redirect URI: its
// origin for http(s), its scheme for a private-use scheme (RFC 8252 §7.1).
// Anything that could break out of the header gives "".
func cspOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if !schemeRE.MatchString(scheme) {
		return ""
	}
	if scheme != "http" && scheme != "https" {
		return scheme + ":"
	}
	if !hostRE.MatchString(u.Host) {
		return ""
	}
	return scheme + "://" + u.Host
}
