package web

import (
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// FuzzParseAuthorize feeds hostile query strings to the authorization
// request parser. Properties: every repeated parameter is reported (RFC
// 6749 §3.1), the values are the form's, a parsed request re-encoded
// parses the same, and the PKCE check lets through only S256 with a
// well-formed challenge, or no PKCE from a confidential client (RFC 9700
// §2.1.1). Seeds: testdata/fuzz/FuzzParseAuthorize.
func FuzzParseAuthorize(f *testing.F) {
	for _, s := range []string{
		"client_id=6731DE76-14a6-49ae-97bc-6eba6914391e&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A8400%2Fcb&scope=openid+offline_access&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"client_id=c&redirect_uri=a&redirect_uri=b&prompt=login+consent&login_hint=+alice%40contoso+&domain_hint=CONTOSO",
		"client_id=c&code_challenge=abc&code_challenge_method=plain&response_mode=form_post&resource=https%3A%2F%2Flegacy.example%2Fapi",
		"response_type=token&state=%00%ff&scope=",
	} {
		f.Add(s, uint8(2), false)
	}
	f.Fuzz(func(t *testing.T, query string, version uint8, public bool) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return // the endpoint answers "Bad request" before parsing
		}
		v := 1 + int(version%2)
		fl := parseAuthorize(form, v, "contoso")
		var dup []string
		for k, vs := range form {
			if len(vs) > 1 {
				dup = append(dup, k)
			}
		}
		sort.Strings(dup)
		if !slices.Equal(dup, fl.Duplicate) {
			t.Fatalf("duplicates %v, want %v", fl.Duplicate, dup)
		}
		if fl.ClientID != strings.ToLower(strings.TrimSpace(form.Get("client_id"))) || fl.RedirectURI != form.Get("redirect_uri") ||
			fl.State != form.Get("state") || fl.CodeChallenge != form.Get("code_challenge") || fl.Scope != form.Get("scope") {
			t.Fatalf("parsed %+v from %v", fl, form)
		}
		again := url.Values{}
		for k, val := range map[string]string{"client_id": fl.ClientID, "redirect_uri": fl.RedirectURI, "response_type": fl.ResponseType,
			"response_mode": fl.ResponseMode, "state": fl.State, "nonce": fl.Nonce, "scope": fl.Scope, "resource": fl.Resource,
			"code_challenge": fl.CodeChallenge, "code_challenge_method": fl.CodeChallengeMethod, "prompt": strings.Join(fl.Prompt, " "),
			"login_hint": fl.LoginHint, "domain_hint": fl.DomainHint} {
			if val != "" {
				again.Set(k, val)
			}
		}
		reparsed := parseAuthorize(again, v, "contoso")
		want := fl
		want.Duplicate = nil
		if len(want.Prompt) == 0 {
			want.Prompt = nil
		}
		if len(reparsed.Prompt) == 0 {
			reparsed.Prompt = nil
		}
		if !reflect.DeepEqual(reparsed, want) {
			t.Fatalf("re-encoded request parses differently:\n%+v\n%+v", reparsed, want)
		}
		if checkPKCE(fl, directory.Application{PublicClient: public}) == nil {
			none := fl.CodeChallenge == "" && fl.CodeChallengeMethod == ""
			if !(none && !public) && !(fl.CodeChallengeMethod == "S256" && challengeRE.MatchString(fl.CodeChallenge)) {
				t.Fatalf("PKCE accepted: challenge %q method %q public %v", fl.CodeChallenge, fl.CodeChallengeMethod, public)
			}
		}
	})
}

// FuzzMatchRedirect fuzzes redirect URI matching. Properties: a
// registered URI matches itself (reflexive); a match returns the URI sent;
// a URI other than the registered one matches only for a public client,
// only between loopback URIs, and then only with the same scheme, host,
// path and query and no userinfo or fragment (RFC 9700 §4.1.3, RFC 8252
// §7.3) — so never on a different host. Seeds:
// testdata/fuzz/FuzzMatchRedirect.
func FuzzMatchRedirect(f *testing.F) {
	for _, s := range [][2]string{
		{"https://app.example/cb", "https://app.example/cb/evil"},
		{"https://app.example/cb", "https://app.example.evil.example/cb"},
		{"http://localhost:8400/callback", "http://localhost:53111/callback"},
		{"http://localhost:8400/callback", "http://evil.example@localhost:8400/callback"},
		{"http://127.0.0.1/cb", "http://[::1]/cb"},
		{"http://localhost/", "http://localhost"},
		{"msauth.com.example://auth", "msauth.com.example://auth/"},
		{"http://localhost:8400/cb?x=1", ""},
		{"https://app.example/cb", ""},
	} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, registered, sent string, public bool) {
		app := directory.Application{RedirectURIs: []string{registered}, PublicClient: public}
		if registered != "" {
			if got, ok := matchRedirect(app, registered); !ok || got != registered {
				t.Fatalf("%q does not match itself (public %v)", registered, public)
			}
		}
		got, ok := matchRedirect(app, sent)
		if !ok {
			return
		}
		if sent == "" {
			if got != registered {
				t.Fatalf("no redirect_uri: chose %q, registered %q", got, registered)
			}
			if u, err := url.Parse(registered); err != nil || isLoopback(u) {
				t.Fatalf("no redirect_uri: chose loopback or unparsable %q", registered)
			}
			return
		}
		if got != sent {
			t.Fatalf("matched %q but returned %q", sent, got)
		}
		if sent == registered {
			return
		}
		r, err1 := url.Parse(registered)
		s, err2 := url.Parse(sent)
		switch {
		case !public:
			t.Fatalf("confidential client: %q matched %q", sent, registered)
		case err1 != nil || err2 != nil || !isLoopback(r) || !isLoopback(s):
			t.Fatalf("non-loopback %q matched %q", sent, registered)
		case !strings.EqualFold(r.Hostname(), s.Hostname()) || !strings.EqualFold(r.Scheme, s.Scheme):
			t.Fatalf("%q matched %q on another host or scheme", sent, registered)
		case normPath(r.EscapedPath()) != normPath(s.EscapedPath()) || r.RawQuery != s.RawQuery:
			t.Fatalf("%q matched %q with another path or query", sent, registered)
		case s.User != nil || strings.Contains(sent, "#"):
			t.Fatalf("%q with userinfo or fragment matched", sent)
		}
	})
}
