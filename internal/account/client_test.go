package account

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fixedNow is an arbitrary instant; nothing here reads the wall clock.
var fixedNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func secretProfile(f *fakeIdP) Profile {
	return Profile{
		Type:         ServicePrincipal,
		Authority:    f.srv.URL,
		Tenant:       testDomain,
		TenantID:     testTenantID,
		ClientID:     testClientID,
		ClientSecret: testSecret,
		IsDefault:    true,
	}
}

func TestDiscoverResolvesTenant(t *testing.T) {
	f := newFakeIdP(t)
	c := &Client{HTTP: f.srv.Client()}
	for _, tenant := range []string{testDomain, testTenantID, strings.ToUpper(testTenantID)} {
		d, err := c.Discover(context.Background(), f.srv.URL+"/", tenant)
		if err != nil {
			t.Fatalf("Discover(%q): %v", tenant, err)
		}
		if d.TenantID != testTenantID {
			t.Errorf("Discover(%q).TenantID = %q, want %q", tenant, d.TenantID, testTenantID)
		}
		if want := f.srv.URL + "/" + testTenantID + "/oauth2/v2.0/token"; d.TokenEndpoint != want {
			t.Errorf("TokenEndpoint = %q, want %q", d.TokenEndpoint, want)
		}
	}
}

func TestDiscoverUnknownTenantShowsServerDescription(t *testing.T) {
	f := newFakeIdP(t)
	c := &Client{HTTP: f.srv.Client()}
	_, err := c.Discover(context.Background(), f.srv.URL, "nope.example")
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "invalid_tenant" {
		t.Fatalf("err = %v, want a ServerError invalid_tenant", err)
	}
	// One line: Entra's trailing Trace ID/Correlation ID lines are dropped.
	if got := err.Error(); got != "AADSTS90002: Tenant 'nope.example' not found. (trace id 1b2c)" {
		t.Errorf("message = %q", got)
	}
}

func TestDiscoverRejectsPathInTenant(t *testing.T) {
	c := &Client{}
	if _, err := c.Discover(context.Background(), "https://127.0.0.1:1", "a/b"); err == nil {
		t.Fatal("a tenant with a slash must be refused before any request")
	}
}

func TestTenantFromIssuer(t *testing.T) {
	for _, tc := range []struct {
		issuer, want string
	}{
		{"https://127.0.0.1:8443/" + testTenantID + "/v2.0", testTenantID},
		{"https://id.example.com/prefix/" + strings.ToUpper(testTenantID) + "/v2.0/", testTenantID},
		{"https://login.microsoftonline.com/" + testTenantID + "/", ""}, // v1 issuer shape
		{"https://127.0.0.1:8443/default/v2.0", ""},                     // not a GUID
		{"", ""},
	} {
		got, err := tenantFromIssuer(tc.issuer)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("tenantFromIssuer(%q) = %q, %v; want %q", tc.issuer, got, err, tc.want)
		}
	}
}

func TestAcquireV2WithSecret(t *testing.T) {
	f := newFakeIdP(t)
	c := &Client{HTTP: f.srv.Client(), Now: func() time.Time { return fixedNow }}
	tok, err := c.Acquire(context.Background(), secretProfile(f), Target{Scope: " api://orders/.default "})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "token-1" || tok.TokenType != "Bearer" {
		t.Errorf("token = %+v", tok)
	}
	if want := fixedNow.Add(3599 * time.Second); !tok.ExpiresOn.Equal(want) {
		t.Errorf("ExpiresOn = %v, want now+expires_in = %v", tok.ExpiresOn, want)
	}
	rec := f.lastForm()
	if rec.path != "/"+testTenantID+"/oauth2/v2.0/token" {
		t.Errorf("posted to %s, want the v2 endpoint of the tenant id", rec.path)
	}
	if got := rec.form["scope"]; len(got) != 1 || got[0] != "api://orders/.default" {
		t.Errorf("scope = %q", got)
	}
	if rec.form["resource"] != nil {
		t.Errorf("v2 request carried resource=%q", rec.form["resource"])
	}
}

// Entra's v1 endpoint sends expires_in and expires_on as strings.
func TestAcquireV1WithStringNumbers(t *testing.T) {
	f := newFakeIdP(t)
	f.expiresIn = 1800
	c := &Client{HTTP: f.srv.Client(), Now: func() time.Time { return fixedNow }}
	tok, err := c.Acquire(context.Background(), secretProfile(f), Target{Resource: "api://orders"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fixedNow.Add(1800 * time.Second); !tok.ExpiresOn.Equal(want) {
		t.Errorf("ExpiresOn = %v, want %v", tok.ExpiresOn, want)
	}
	rec := f.lastForm()
	if rec.path != "/"+testTenantID+"/oauth2/token" || rec.form["resource"][0] != "api://orders" || rec.form["scope"] != nil {
		t.Errorf("v1 request = %s %v", rec.path, rec.form)
	}
}

func TestParseTokenResponse(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       time.Time
		wantErr    bool
	}{
		{"v2 number", `{"access_token":"a","expires_in":60}`, fixedNow.Add(time.Minute), false},
		{"v1 strings", `{"access_token":"a","expires_in":"60","expires_on":"1"}`, fixedNow.Add(time.Minute), false},
		{"expires_on only", `{"access_token":"a","expires_on":"1764064800"}`, time.Unix(1764064800, 0), false},
		{"float", `{"access_token":"a","expires_in":60.0}`, fixedNow.Add(time.Minute), false},
		{"no lifetime is never cached", `{"access_token":"a"}`, fixedNow, false},
		{"no token", `{"expires_in":60}`, time.Time{}, true},
		{"garbage lifetime", `{"access_token":"a","expires_in":"soon"}`, time.Time{}, true},
		{"negative lifetime", `{"access_token":"a","expires_in":-5}`, time.Time{}, true},
		{"overflowing lifetime", `{"access_token":"a","expires_in":9223372036854775807}`, time.Time{}, true},
		{"not JSON", `<html>`, time.Time{}, true},
	} {
		tok, err := parseTokenResponse([]byte(tc.body), fixedNow)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !tc.wantErr && !tok.ExpiresOn.Equal(tc.want) {
			t.Errorf("%s: ExpiresOn = %v, want %v", tc.name, tok.ExpiresOn, tc.want)
		}
	}
}

func TestAcquireWrongSecretShowsDescriptionNotSecret(t *testing.T) {
	f := newFakeIdP(t)
	f.echo = true
	p := secretProfile(f)
	p.ClientSecret = "wrong-" + testSecret
	_, err := (&Client{HTTP: f.srv.Client()}).Acquire(context.Background(), p, Target{Scope: "api://x/.default"})
	var se *ServerError
	if !errors.As(err, &se) || !se.CredentialsRejected() {
		t.Fatalf("err = %v, want a ServerError that rejects the credentials", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "AADSTS7000215: Invalid client secret provided.") {
		t.Errorf("message %q lacks the server's description", msg)
	}
	if strings.Contains(msg, string(p.ClientSecret)) || strings.Contains(msg, testSecret) {
		t.Errorf("message %q contains the secret", msg)
	}
}

func TestAcquireWithCertificate(t *testing.T) {
	f := newFakeIdP(t)
	cert, _, path := newClientCert(t)
	f.cert = cert
	p := secretProfile(f)
	p.ClientSecret, p.CertificateFile = "", path
	c := &Client{HTTP: f.srv.Client(), Now: time.Now} // the fake checks only the assertion's own consistency
	for i := range 2 {
		// Twice: each assertion must carry a fresh jti, or the second is a replay.
		if _, err := c.Acquire(context.Background(), p, Target{Scope: "api://x/.default"}); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	for _, k := range []string{"client_secret"} {
		if f.lastForm().form[k] != nil {
			t.Errorf("certificate request carried %s", k)
		}
	}
	// v1 too: the assertion's audience follows the endpoint it is sent to.
	if _, err := c.Acquire(context.Background(), p, Target{Resource: "api://x"}); err != nil {
		t.Fatalf("v1 with certificate: %v", err)
	}
}

func TestAcquireWithUnregisteredCertificateFails(t *testing.T) {
	f := newFakeIdP(t)
	registered, _, _ := newClientCert(t)
	_, _, other := newClientCert(t)
	f.cert = registered
	p := secretProfile(f)
	p.ClientSecret, p.CertificateFile = "", other
	_, err := (&Client{HTTP: f.srv.Client()}).Acquire(context.Background(), p, Target{Scope: "api://x/.default"})
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "invalid_client" {
		t.Fatalf("err = %v, want invalid_client", err)
	}
}

func TestUntrustedServerSaysWhatToDo(t *testing.T) {
	f := newFakeIdP(t)
	hc, err := NewHTTPClient("") // system roots only: the fake's certificate is not among them
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Client{HTTP: hc}).Discover(context.Background(), f.srv.URL, testDomain)
	if err == nil || !strings.Contains(err.Error(), "--ca-file") {
		t.Fatalf("err = %v, want advice to pass --ca-file", err)
	}
}

func TestNewHTTPClientTrustsCAFile(t *testing.T) {
	f := newFakeIdP(t)
	hc, err := NewHTTPClient(f.caFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Client{HTTP: hc}).Discover(context.Background(), f.srv.URL, testDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := NewHTTPClient(secretFile(t, "not a certificate")); err == nil {
		t.Error("a CA file without certificates must be refused")
	}
}

// The cache serves a token while it has more than five minutes left and
// fetches a new one from then on; the fake counts the fetches.
func TestTokenServedFromCacheUntilFiveMinutesLeft(t *testing.T) {
	f := newFakeIdP(t)
	s := openTemp(t)
	clock := &testClock{now: fixedNow}
	c := &Client{HTTP: f.srv.Client(), Now: clock.Now}
	p := secretProfile(f)
	target := Target{Scope: "api://orders/.default"}
	get := func() string {
		t.Helper()
		tok, err := c.Token(context.Background(), s, p, target)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}

	if got := get(); got != "token-1" || f.tokenRequests() != 1 {
		t.Fatalf("first call: %s after %d requests", got, f.tokenRequests())
	}
	// 3599 s lifetime: at 3599-301 s, 5 min 1 s are left.
	clock.Add((3599 - 301) * time.Second)
	if got := get(); got != "token-1" || f.tokenRequests() != 1 {
		t.Fatalf("with 5m1s left: %s after %d requests, want the cached token-1", got, f.tokenRequests())
	}
	// Exactly five minutes left: no longer served.
	clock.Add(time.Second)
	if got := get(); got != "token-2" || f.tokenRequests() != 2 {
		t.Fatalf("with 5m left: %s after %d requests, want a fresh token-2", got, f.tokenRequests())
	}
	// Another target is another cache entry.
	target = Target{Resource: "api://orders"}
	if got := get(); got != "token-3" {
		t.Fatalf("v1 resource served %s, want a fresh token", got)
	}
}

func TestTokenDoesNotCacheFailures(t *testing.T) {
	f := newFakeIdP(t)
	s := openTemp(t)
	p := secretProfile(f)
	p.ClientSecret = "wrong"
	c := &Client{HTTP: f.srv.Client(), Now: func() time.Time { return fixedNow }}
	if _, err := c.Token(context.Background(), s, p, Target{Scope: "api://x/.default"}); err == nil {
		t.Fatal("wrong secret: want an error")
	}
	toks, err := s.loadTokens()
	if err != nil || len(toks) != 0 {
		t.Fatalf("cache after a failure = %v, %v", toks, err)
	}
}

func TestFlexInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		set  bool
	}{{`3599`, 3599, true}, {`"3599"`, 3599, true}, {`null`, 0, false}, {` 7 `, 7, true}} {
		var f flexInt
		if err := f.UnmarshalJSON([]byte(tc.in)); err != nil || f.v != tc.want || f.set != tc.set {
			t.Errorf("flexInt(%s) = %+v, %v", tc.in, f, err)
		}
	}
}
