package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseTokenRequest feeds hostile bodies, query strings and
// Authorization headers to the token request parser. Properties: a body
// with a repeated parameter, a secret in the URL or two client
// authentication methods is refused (RFC 6749 §3.2, §2.3.1, §2.3); an
// accepted request holds exactly the form's values; and re-encoding an
// accepted request's form and parsing it again gives the same request.
// Seeds: testdata/fuzz/FuzzParseTokenRequest.
func FuzzParseTokenRequest(f *testing.F) {
	for _, s := range [][3]string{
		{"grant_type=client_credentials&client_id=6731de76-14a6-49ae-97bc-6eba6914391e&client_secret=tss_x&scope=api%3A%2F%2Fstudies%2F.default", "", ""},
		{"grant_type=authorization_code&client_id=c&code=tac_x.y&redirect_uri=http%3A%2F%2Flocalhost%3A8400%2Fcb&code_verifier=" + strings.Repeat("v", 43), "", ""},
		{"grant_type=refresh_token&refresh_token=trt_a.b&client_info=1", "", "Basic Yzpz"},
		{"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJ.e30.sig", "", ""},
		{"grant_type=password&username=alice&password=p&scope=openid", "code=tac_in_query", ""},
		{"grant_type=x&grant_type=y", "", ""},
		{"client_id=a&client_secret=b", "", "Basic YTpi"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	secretParams := []string{"client_secret", "client_assertion", "refresh_token", "code", "password", "code_verifier", "device_code", "token"}
	parse := func(body, query, authz string) (*tokenRequest, *Error) {
		r := httptest.NewRequest(http.MethodPost, "/t/oauth2/v2.0/token", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		return parseClientRequest(httptest.NewRecorder(), r)
	}
	f.Fuzz(func(t *testing.T, body, query, authz string) {
		req, oerr := parse(body, query, authz)
		if oerr != nil {
			if oerr.Code != "invalid_request" && oerr.Code != "invalid_client" || oerr.Status >= 500 {
				t.Fatalf("error %s %d", oerr.Code, oerr.Status)
			}
			return
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			// net/http parses what ParseQuery refuses only when it
			// refused it too; an accepted body is a valid query.
			t.Fatalf("accepted a body ParseQuery refuses: %v", err)
		}
		for k, v := range form {
			if len(v) > 1 {
				t.Fatalf("accepted %q twice", k)
			}
		}
		q, _ := url.ParseQuery(query)
		for _, k := range secretParams {
			if q.Has(k) {
				t.Fatalf("accepted %s in the URL", k)
			}
		}
		if req.ClientSecret != "" && req.ClientAssertion != "" {
			t.Fatal("accepted two authentication methods")
		}
		if !req.BasicAuth && (req.ClientID != form.Get("client_id") || req.ClientSecret != form.Get("client_secret")) {
			t.Fatal("client credentials differ from the form")
		}
		if req.GrantType != form.Get("grant_type") || req.Code != form.Get("code") || req.RefreshToken != form.Get("refresh_token") ||
			req.CodeVerifier != form.Get("code_verifier") || req.RedirectURI != form.Get("redirect_uri") || req.Scope != form.Get("scope") {
			t.Fatal("parameters differ from the form")
		}
		again, oerr := parse(req.form.Encode(), "", authz)
		if oerr != nil {
			t.Fatalf("the re-encoded form is refused: %v", oerr.Description)
		}
		again.form, req.form = nil, nil
		if !reflect.DeepEqual(again, req) {
			t.Fatalf("re-encoded request differs:\n%+v\n%+v", again, req)
		}
	})
}
