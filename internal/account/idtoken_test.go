package account

import (
	"context"
	"crypto/rsa"
	"strings"
	"testing"
	"time"
)

// OIDC Core §3.1.3.7: each rule an ID token must pass, one row each.
func TestVerifyIDToken(t *testing.T) {
	f := newFakeIdP(t)
	c := &Client{HTTP: f.srv.Client(), Now: func() time.Time { return fixedNow }}
	f.setUser(func(u *userSide) { u.clock = func() time.Time { return fixedNow } })
	specific, err := c.Discover(context.Background(), f.srv.URL, testDomain)
	if err != nil {
		t.Fatal(err)
	}
	multi, err := c.Discover(context.Background(), f.srv.URL, "organizations")
	if err != nil {
		t.Fatal(err)
	}
	if multi.TenantID != "" || !strings.Contains(multi.Issuer, "{tenantid}") {
		t.Fatalf("organizations discovery = %+v, want a template issuer and no tenant", multi)
	}
	keys := f.srv.URL + "/organizations/discovery/v2.0/keys"
	for _, tc := range []struct {
		name   string
		d      Discovery
		mutate func(c map[string]any) *rsa.PrivateKey
		want   string // "" for valid
	}{
		{"valid for a tenant", specific, nil, ""},
		{"valid for organizations: any tenant's issuer", multi, nil, ""},
		{"signed by a key the authority does not publish", specific, func(map[string]any) *rsa.PrivateKey { return f.user.other }, "signature"},
		{"another issuer", specific, func(c map[string]any) *rsa.PrivateKey {
			c["iss"] = "https://evil.example/" + testTenantID + "/v2.0"
			return nil
		}, "issuer"},
		{"organizations: issuer without a tenant GUID", multi, func(c map[string]any) *rsa.PrivateKey { c["iss"] = f.srv.URL + "/default/v2.0"; return nil }, "issuer"},
		{"tid disagrees with the issuer", multi, func(c map[string]any) *rsa.PrivateKey { c["tid"] = "11111111-2222-3333-4444-555555555555"; return nil }, "tid"},
		{"another audience", specific, func(c map[string]any) *rsa.PrivateKey { c["aud"] = "someone-else"; return nil }, "not for client"},
		{"expired beyond the skew", specific, func(c map[string]any) *rsa.PrivateKey {
			c["exp"] = fixedNow.Add(-idTokenSkew - time.Second).Unix()
			return nil
		}, "expired"},
		{"expired within the skew", specific, func(c map[string]any) *rsa.PrivateKey { c["exp"] = fixedNow.Add(-time.Minute).Unix(); return nil }, ""},
		{"not yet valid", specific, func(c map[string]any) *rsa.PrivateKey { c["nbf"] = fixedNow.Add(time.Hour).Unix(); return nil }, "not valid before"},
		{"no exp", specific, func(c map[string]any) *rsa.PrivateKey { delete(c, "exp"); return nil }, "no exp"},
		{"a nonce where none was sent", specific, func(c map[string]any) *rsa.PrivateKey { c["nonce"] = "x"; return nil }, "nonce"},
		{"no oid: sub stands in", specific, func(c map[string]any) *rsa.PrivateKey { delete(c, "oid"); return nil }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := f.idTokenClaims("")
			key := f.user.key
			if tc.mutate != nil {
				if k := tc.mutate(claims); k != nil {
					key = k
				}
			}
			raw := f.signIDToken(claims, key)
			cl, err := c.verifyIDToken(context.Background(), tc.d, keys, raw, testCLIClientID, "")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cl.TenantID != testTenantID || cl.ObjectID == "" {
					t.Errorf("claims %+v", cl)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// alg none and HMAC are never accepted.
	for _, raw := range []string{
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJ4In0.c2ln",
	} {
		if _, err := c.verifyIDToken(context.Background(), specific, keys, raw, testCLIClientID, ""); err == nil {
			t.Errorf("accepted %s", raw)
		}
	}
}

func TestCheckIssuer(t *testing.T) {
	specific := Discovery{Issuer: "https://id.example.com/" + testTenantID + "/v2.0", TenantID: testTenantID}
	multi := Discovery{Issuer: "https://id.example.com/{tenantid}/v2.0"}
	for _, tc := range []struct {
		d        Discovery
		iss, tid string // tid "" means refused
	}{
		{specific, specific.Issuer, testTenantID},
		{specific, specific.Issuer + "/", ""},
		{specific, "https://id.example.com/" + strings.ToUpper(testTenantID) + "/v2.0", ""},
		{multi, "https://id.example.com/" + testTenantID + "/v2.0", testTenantID},
		{multi, "https://id.example.com/" + strings.ToUpper(testTenantID) + "/v2.0", testTenantID},
		{multi, "https://id.example.com/default/v2.0", ""},
		{multi, "https://id.example.com/" + testTenantID + "/v2.0/x", ""},
		{multi, "https://evil.example/" + testTenantID + "/v2.0", ""},
		{Discovery{}, "", ""},
	} {
		tid, err := tc.d.checkIssuer(tc.iss)
		if tid != tc.tid || (err == nil) != (tc.tid != "") {
			t.Errorf("checkIssuer(%s, %q) = %q, %v; want %q", tc.d.Issuer, tc.iss, tid, err, tc.tid)
		}
	}
}

func TestParseClientInfo(t *testing.T) {
	for _, tc := range []struct {
		in, uid string
	}{
		{"eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ", "u"},   // unpadded, as Entra sends it
		{"eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ==", "u"}, // padded
		{"eyJ1aWQiOiJ1In0", ""},                   // no utid
		{"not base64!", ""},
		{"bm90IGpzb24", ""}, // "not json"
	} {
		ci, err := parseClientInfo(tc.in)
		if ci.UID != tc.uid && tc.uid != "" || (err == nil) != (tc.uid != "") {
			t.Errorf("parseClientInfo(%q) = %+v, %v", tc.in, ci, err)
		}
	}
}
