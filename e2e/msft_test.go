package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tessera-id/tessera/internal/directory"
)

// What Microsoft's clients ask besides OAuth: instance discovery, the
// user realm, the AD FS–shaped authority /adfs, and the management
// (Azure Resource Manager) endpoint that `az login` reads. The Azure CLI
// and MSAL for Python cannot run here (no PyPI); MSAL for Go, unchanged,
// stands in for MSAL's AD FS code path, and go-oidc checks the /adfs
// discovery document against the tokens it promises.

// managementScope is what the Azure CLI asks at login: its resource
// manager's resource id with /.default appended (hence the double slash).
const managementScope = "https://management.core.windows.net//.default"

// msftUser creates alice in the home tenant (domain "default").
func msftUser(t *testing.T, h *harness) directory.User {
	t.Helper()
	u, err := h.srv.Directory.CreateUser(context.Background(), h.tenant(), directory.UserSpec{UserPrincipalName: "alice", DisplayName: "Alice", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// get sends a GET with an optional bearer token.
func (h *harness) get(rawURL, bearer string) (int, map[string]any, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return h.do(req)
}

// TestInstanceDiscoveryEndToEnd: MSAL's instance discovery answers for a
// tenant and for organizations, and the document it points to is the
// tenant's; an authority tessera does not serve is invalid_instance.
func TestInstanceDiscoveryEndToEnd(t *testing.T) {
	h := start(t)
	host := strings.TrimPrefix(h.srv.URL, "https://")
	name, _, _ := strings.Cut(host, ":")
	ask := func(prefix, authorize string) (int, map[string]any, http.Header) {
		return h.get(h.srv.URL+"/"+prefix+"/discovery/instance?"+url.Values{"api-version": {"1.1"}, "authorization_endpoint": {authorize}}.Encode(), "")
	}
	for _, tc := range []struct{ prefix, tenant, host string }{
		{"common", "default", host},
		{"common", h.tenant(), host},
		{"common", "organizations", host},
		{"organizations", "default", name}, // MSAL for Python sends the host name alone
	} {
		status, body, hdr := ask(tc.prefix, "https://"+tc.host+"/"+tc.tenant+"/oauth2/v2.0/authorize")
		want := h.srv.URL + "/" + tc.tenant + "/v2.0/.well-known/openid-configuration"
		if status != 200 || body["tenant_discovery_endpoint"] != want || !strings.HasPrefix(hdr.Get("Cache-Control"), "public") {
			t.Fatalf("%s %s: %d %v", tc.prefix, tc.tenant, status, body)
		}
		md := asSlice(body["metadata"])
		if len(md) != 1 {
			t.Fatalf("metadata %v", body["metadata"])
		}
		m := md[0].(map[string]any)
		if m["preferred_network"] != host || m["preferred_cache"] != host || strings.Join(anyStrings(m["aliases"]), " ") != host+" "+name {
			t.Errorf("metadata %v", m)
		}
		// The document it points to is served, and names this host.
		status, doc, _ := h.get(want, "")
		if status != 200 || !strings.HasPrefix(doc["token_endpoint"].(string), h.srv.URL+"/") {
			t.Errorf("tenant discovery %s: %d %v", want, status, doc)
		}
	}
	for _, authorize := range []string{
		"https://" + host + "/nowhere/oauth2/v2.0/authorize",
		"https://login.microsoftonline.com/default/oauth2/v2.0/authorize",
	} {
		if status, body, _ := ask("common", authorize); status != 400 || body["error"] != "invalid_instance" {
			t.Errorf("%s: %d %v, want invalid_instance", authorize, status, body)
		}
	}
}

// TestUserRealmEndToEnd: the home-realm discovery MSAL for Python asks
// before a password grant answers from the domain alone.
func TestUserRealmEndToEnd(t *testing.T) {
	h := start(t)
	msftUser(t, h)
	for _, tc := range []struct{ path, accountType, domain string }{
		{"/common/userrealm/alice@default?api-version=1.0", "Managed", "default"},
		{"/common/userrealm/nobody@default?api-version=1.0", "Managed", "default"}, // does not say who exists
		{"/common/userrealm/alice@default?api-version=2.0", "Managed", "default"},
		{"/common/UserRealm/alice@default?api-version=1.0", "Managed", "default"}, // MSAL for Go's spelling
		{"/common/userrealm/alice@fabrikam.example?api-version=1.0", "Unknown", "fabrikam.example"},
	} {
		status, body, _ := h.get(h.srv.URL+tc.path, "")
		if status != 200 || body["account_type"] != tc.accountType || body["domain_name"] != tc.domain ||
			body["ver"] != "1.0" || body["cloud_audience_urn"] != "urn:federation:MicrosoftOnline" || body["cloud_instance_name"] == "" {
			t.Errorf("%s: %d %v", tc.path, status, body)
		}
	}
}

// TestADFSAuthorityEndToEnd: https://{host}/adfs, the authority MSAL
// treats as AD FS (no instance discovery). Its discovery document is
// consistent (every endpoint it names answers, go-oidc accepts it and
// the ID tokens it promises), and each grant works through it: password
// and client credentials (MSAL for Go and plain HTTP), device code, and
// authorization code with PKCE through the pages.
func TestADFSAuthorityEndToEnd(t *testing.T) {
	h := start(t)
	alice := msftUser(t, h)
	ctx := context.Background()
	tid := h.tenant()
	authority := h.srv.URL + "/adfs"

	status, doc, _ := h.get(authority+"/.well-known/openid-configuration", "")
	if status != 200 || doc["issuer"] != authority {
		t.Fatalf("discovery: %d %v", status, doc)
	}
	// Every endpoint it names answers: with a page, a key set or an OAuth
	// error for an empty request, never 404 or 405. (The authorization
	// endpoint shows the sign-in page: with no client named, the user
	// name decides the tenant, as at /organizations/.)
	for k, want := range map[string]int{"authorization_endpoint": 200, "token_endpoint": 400, "device_authorization_endpoint": 400, "end_session_endpoint": 200, "jwks_uri": 200} {
		u, _ := doc[k].(string)
		if !strings.HasPrefix(u, authority+"/") {
			t.Errorf("%s = %q is not under %s", k, u, authority)
			continue
		}
		method := "GET"
		if k == "token_endpoint" || k == "device_authorization_endpoint" {
			method = "POST"
		}
		req, _ := http.NewRequest(method, u, strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if status, body, _ := h.do(req); status != want {
			t.Errorf("%s %s: %d %v, want %d", method, u, status, body, want)
		}
	}
	oidcCtx := oidc.ClientContext(ctx, h.http)
	provider, err := oidc.NewProvider(oidcCtx, authority)
	if err != nil {
		t.Fatalf("go-oidc refuses the /adfs document: %v", err)
	}
	verifyID := func(what, raw string) {
		t.Helper()
		id, err := provider.Verifier(&oidc.Config{ClientID: directory.CLIClientID}).Verify(oidcCtx, raw)
		if err != nil {
			t.Errorf("%s: id token: %v", what, err)
			return
		}
		if id.Issuer != authority || id.Subject != alice.ObjectID {
			t.Errorf("%s: id token iss %s sub %s", what, id.Issuer, id.Subject)
		}
	}
	// Access tokens keep their tenant's issuer: the resource validates them.
	wantManagementToken := func(what, raw string) {
		t.Helper()
		wantClaims(t, what, raw, map[string]any{"aud": directory.ManagementIdentifierURI, "iss": h.srv.URL + "/" + tid + "/",
			"tid": tid, "oid": alice.ObjectID, "scp": "user_impersonation", "appid": directory.CLIClientID, "ver": "1.0"})
	}

	t.Run("password grant, plain HTTP", func(t *testing.T) {
		status, body, _ := h.postForm("/adfs/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {directory.CLIClientID},
			"username": {"alice@default"}, "password": {alicePassword}, "scope": {"openid profile offline_access " + managementScope}}, "", "")
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		wantManagementToken("password", body["access_token"].(string))
		verifyID("password", body["id_token"].(string))
	})

	t.Run("password grant, MSAL for Go", func(t *testing.T) {
		app, err := public.New(directory.CLIClientID, public.WithAuthority(authority), public.WithHTTPClient(h.http))
		if err != nil {
			t.Fatal(err)
		}
		//lint:ignore SA1019 the password grant is what this test proves works (the issue asks for it).
		res, err := app.AcquireTokenByUsernamePassword(ctx, []string{managementScope}, "alice@default", alicePassword)
		if err != nil {
			t.Fatalf("MSAL: %v", err)
		}
		wantManagementToken("MSAL password", res.AccessToken)
		if res.IDToken.Issuer != authority || res.IDToken.Oid != alice.ObjectID {
			t.Errorf("MSAL id token %+v", res.IDToken)
		}
		// The token is good for the management endpoint, as az uses it.
		if status, body, _ := h.get(h.srv.URL+"/management/tenants?api-version=2022-12-01", res.AccessToken); status != 200 || len(asSlice(body["value"])) != 1 {
			t.Errorf("management with the /adfs token: %d %v", status, body)
		}
	})

	t.Run("client credentials, MSAL for Go and plain HTTP", func(t *testing.T) {
		d := h.srv.Directory
		api, err := d.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "Orders", IdentifierURIs: []string{"api://orders"},
			AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeApplication}}}})
		if err != nil {
			t.Fatal(err)
		}
		client, err := d.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "Orders worker"})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{api.AppID, client.AppID} {
			if _, err := d.CreateServicePrincipal(ctx, tid, directory.ServicePrincipalSpec{AppID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.AssignRole(ctx, tid, directory.AssignmentSpec{Principal: client.AppID, Resource: api.AppID, Role: "Reader"}); err != nil {
			t.Fatal(err)
		}
		_, secret, err := d.AddSecret(ctx, tid, client.AppID, directory.SecretSpec{})
		if err != nil {
			t.Fatal(err)
		}
		cred, err := confidential.NewCredFromSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		app, err := confidential.New(authority, client.AppID, cred, confidential.WithHTTPClient(h.http))
		if err != nil {
			t.Fatal(err)
		}
		res, err := app.AcquireTokenByCredential(ctx, []string{"api://orders/.default"})
		if err != nil {
			t.Fatalf("MSAL: %v", err)
		}
		c := wantClaims(t, "MSAL client credentials", res.AccessToken, map[string]any{"aud": api.AppID, "azp": client.AppID, "tid": tid,
			"iss": h.srv.URL + "/" + tid + "/v2.0", "idtyp": "app"})
		wantRoles(t, "MSAL client credentials", c, "Reader")
		// ADAL and AD FS clients name the resource instead.
		status, body, _ := h.postForm("/adfs/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "resource": {"api://orders"}}, client.AppID, secret)
		if status != 200 {
			t.Fatalf("resource=: %d %v", status, body)
		}
		wantClaims(t, "client credentials with resource", body["access_token"].(string), map[string]any{"aud": api.AppID, "azp": client.AppID})
	})

	t.Run("device code", func(t *testing.T) {
		status, body, _ := h.postForm("/adfs/oauth2/devicecode", url.Values{"client_id": {directory.CLIClientID}, "scope": {"openid profile offline_access " + managementScope}}, "", "")
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		// The Azure CLI prints the message alone: it must name the page
		// and the code.
		userCode, verify := body["user_code"].(string), body["verification_uri"].(string)
		if msg, _ := body["message"].(string); verify != h.srv.URL+"/"+tid+"/devicelogin" || !strings.Contains(msg, verify) || !strings.Contains(msg, userCode) {
			t.Errorf("device authorization %v", body)
		}
		h.approveDevice(t, userCode, "alice", alicePassword)
		status, body, _ = h.postForm("/adfs/oauth2/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {directory.CLIClientID},
			"device_code": {body["device_code"].(string)}}, "", "")
		if status != 200 {
			t.Fatalf("poll: %d %v", status, body)
		}
		wantManagementToken("device code", body["access_token"].(string))
		verifyID("device code", body["id_token"].(string))

		// MSAL for Go finds the device endpoint next to the token
		// endpoint and polls it.
		app, err := public.New(directory.CLIClientID, public.WithAuthority(authority), public.WithHTTPClient(h.http))
		if err != nil {
			t.Fatal(err)
		}
		dc, err := app.AcquireTokenByDeviceCode(ctx, []string{managementScope})
		if err != nil {
			t.Fatalf("MSAL device code: %v", err)
		}
		if !strings.Contains(dc.Result.Message, dc.Result.UserCode) {
			t.Errorf("MSAL's message %q", dc.Result.Message)
		}
		h.approveDevice(t, dc.Result.UserCode, "alice", alicePassword)
		res, err := dc.AuthenticationResult(ctx)
		if err != nil {
			t.Fatalf("MSAL device code result: %v", err)
		}
		wantManagementToken("MSAL device code", res.AccessToken)
	})

	t.Run("authorization code with PKCE through the pages", func(t *testing.T) {
		conf := &oauth2.Config{ClientID: directory.CLIClientID, RedirectURL: "http://localhost:8400",
			Scopes:   []string{"openid", "profile", "offline_access", managementScope},
			Endpoint: provider.Endpoint()}
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		verifier, state := oauth2.GenerateVerifier(), randomString(t)
		back := h.authorizeWithPassword(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), "alice", alicePassword)
		q := back.Query()
		// RFC 9207: the answer names the issuer the client discovered.
		if q.Get("state") != state || q.Get("iss") != authority || q.Get("code") == "" {
			t.Fatalf("redirect %s", back)
		}
		tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, h.http), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange at %s: %v", conf.Endpoint.TokenURL, err)
		}
		wantManagementToken("authorization code", tok.AccessToken)
		raw, _ := tok.Extra("id_token").(string)
		verifyID("authorization code", raw)
		// The refresh token rotates through /adfs too.
		status, body, _ := h.postForm("/adfs/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {directory.CLIClientID},
			"refresh_token": {tok.RefreshToken}, "scope": {"openid " + managementScope}}, "", "")
		if status != 200 || body["refresh_token"] == tok.RefreshToken {
			t.Fatalf("refresh: %d %v", status, body)
		}
		verifyID("refresh", body["id_token"].(string))
	})
}

// grantDeviceCode is RFC 8628 §3.4's grant type.
const grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// TestManagementEndToEnd: the Azure CLI's view after `az login
// --allow-no-subscriptions`: with a token of its client for the resource
// manager, obtained by the password grant without consent (the CLI is
// pre-authorized), /tenants lists the caller's tenant and /subscriptions
// none; a token for another audience is refused with ARM's challenge.
func TestManagementEndToEnd(t *testing.T) {
	h := start(t)
	msftUser(t, h)
	tid := h.tenant()
	status, body, _ := h.postForm("/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {directory.CLIClientID},
		"username": {"alice@default"}, "password": {alicePassword}, "scope": {"openid profile offline_access " + managementScope}, "client_info": {"1"}}, "", "")
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	at := body["access_token"].(string)
	wantClaims(t, "management token", at, map[string]any{"aud": directory.ManagementIdentifierURI, "scp": "user_impersonation", "tid": tid})

	status, body, hdr := h.get(h.srv.URL+"/management/tenants?api-version=2022-12-01", at)
	vals := asSlice(body["value"])
	if status != 200 || len(vals) != 1 || hdr.Get("x-ms-request-id") == "" {
		t.Fatalf("tenants: %d %v", status, body)
	}
	want := map[string]any{"id": "/tenants/" + tid, "tenantId": tid, "tenantCategory": "Home", "displayName": h.srv.HomeTenant.DisplayName,
		"defaultDomain": "default", "tenantType": "AAD", "countryCode": ""}
	got := vals[0].(map[string]any)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("tenant %s = %v, want %v", k, got[k], v)
		}
	}
	if strings.Join(anyStrings(got["domains"]), ",") != "default" {
		t.Errorf("domains %v", got["domains"])
	}
	if status, body, _ := h.get(h.srv.URL+"/management/subscriptions?api-version=2022-01-01", at); status != 200 || body["value"] == nil || len(asSlice(body["value"])) != 0 {
		t.Errorf("subscriptions: %d %v", status, body)
	}
	if status, body, _ := h.get(h.srv.URL+"/management/resourceGroups?api-version=2021-04-01", at); status != 404 || body["error"].(map[string]any)["code"] != "NotFound" {
		t.Errorf("unknown path: %d %v", status, body)
	}

	// The admin API's token is for another audience.
	for _, bad := range []string{h.adminToken(), ""} {
		status, body, hdr = h.get(h.srv.URL+"/management/tenants?api-version=2022-12-01", bad)
		challenge := hdr.Get("WWW-Authenticate")
		if status != 401 || !strings.HasPrefix(challenge, `Bearer authorization_uri="`+h.srv.URL+"/"+tid+`/oauth2/authorize", error="invalid_token"`) {
			t.Errorf("refused token: %d %v %q", status, body, challenge)
		}
	}
	h.assertNotLogged(alicePassword, at)
}

// TestManagementApplicationAtStart: a data folder from before the
// management application existed (here: one whose tenants lost it) gets
// it back in every tenant when the server starts.
func TestManagementApplicationAtStart(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	d := h.srv.Directory
	other, err := d.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range []string{h.tenant(), other.ID} {
		if err := d.DeleteApplication(ctx, tid, directory.ManagementIdentifierURI); err != nil {
			t.Fatal(err)
		}
	}
	h.stop()
	h = startAt(t, h.dataDir, h.addr)
	for _, tid := range []string{h.tenant(), other.ID} {
		res, err := h.srv.Directory.ResolveResource(ctx, tid, directory.ManagementIdentifierURI)
		if err != nil || res.App.AppID != directory.ManagementAppID || !res.SP.Enabled {
			t.Errorf("tenant %s after restart: %+v %v", tid, res.App, err)
		}
	}
}
