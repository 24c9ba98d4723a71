package account

import (
	"testing"
	"time"
)

// The token endpoint's answer and the discovery issuer are hostile input:
// whatever arrives, parsing must not panic, and a token it accepts must be
// usable (a non-empty access token, a type, an expiry that did not
// overflow).
func FuzzParseTokenResponse(f *testing.F) {
	for _, seed := range []string{
		`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"a"}`,
		`{"token_type":"Bearer","expires_in":"3599","expires_on":"1764064800","not_before":"1764061200","resource":"api://x","access_token":"a"}`,
		`{"access_token":"a","expires_in":-1}`,
		`{"access_token":"a","expires_in":1e400}`,
		`{"access_token":"a","expires_on":"99999999999999999999"}`,
		`{"access_token":""}`,
		`null`, `[]`, `"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseTokenResponse(body, fixedNow)
		if err != nil {
			return
		}
		if tok.AccessToken == "" || tok.TokenType == "" || !inRange(tok.ExpiresOn) {
			t.Fatalf("accepted an unusable token %+v from %q", tok, body)
		}
	})
}

func FuzzTenantFromIssuer(f *testing.F) {
	for _, seed := range []string{
		"https://127.0.0.1:8443/" + testTenantID + "/v2.0",
		"https://x/" + testTenantID + "/v2.0/",
		"https://x/%zz/v2.0", "::", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, issuer string) {
		tid, err := tenantFromIssuer(issuer)
		if err == nil && !IsGUID(tid) {
			t.Fatalf("tenantFromIssuer(%q) = %q, not a GUID", issuer, tid)
		}
	})
}

func inRange(t time.Time) bool {
	return !t.Before(time.Unix(0, 0)) && !t.After(time.Unix(1<<40, 0))
}

// The authorization response's iss, an ID token's iss and client_info come
// from the network: whatever arrives, a tenant accepted is a GUID.
func FuzzCheckIssuer(f *testing.F) {
	multi := Discovery{Issuer: "https://id.example.com/{tenantid}/v2.0"}
	for _, seed := range []string{
		"https://id.example.com/" + testTenantID + "/v2.0",
		"https://id.example.com//v2.0", "https://id.example.com/{tenantid}/v2.0", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, iss string) {
		tid, err := multi.checkIssuer(iss)
		if err == nil && !IsGUID(tid) {
			t.Fatalf("checkIssuer(%q) = %q, not a GUID", iss, tid)
		}
	})
}

func FuzzParseClientInfo(f *testing.F) {
	for _, seed := range []string{"eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ", "e30", "", "===="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ci, err := parseClientInfo(s)
		if err == nil && (ci.UID == "" || ci.UTID == "") {
			t.Fatalf("parseClientInfo(%q) accepted %+v", s, ci)
		}
	})
}
