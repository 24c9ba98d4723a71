package adminapi

import (
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// consentEnv is a tenant with an API exposing read and write, a client,
// and a user.
type consentEnv struct {
	*env
	api, client Application
	alice       User
	consents    string
}

func newConsentEnv(t *testing.T) consentEnv {
	e := newEnv(t)
	c := consentEnv{env: e, consents: tenantPath(e.contoso, "/consents")}
	apps := tenantPath(e.contoso, "/applications")
	e.do("POST", apps, tokAdminA, ApplicationCreate{DisplayName: "orders api", IdentifierURIs: []string{"api://orders"},
		Scopes: []Scope{{Value: "read"}, {Value: "write"}, {Value: "old", IsEnabled: boolPtr(false)}}}).must(t, 201).json(t, &c.api)
	e.do("POST", tenantPath(e.contoso, "/servicePrincipals"), tokAdminA, directory.ServicePrincipalSpec{AppID: c.api.AppID}).must(t, 201)
	e.do("POST", apps, tokAdminA, ApplicationCreate{DisplayName: "orders web", RedirectURIs: []string{"https://orders.example/cb"}}).must(t, 201).json(t, &c.client)
	e.do("POST", tenantPath(e.contoso, "/users"), tokAdminA, UserCreate{UserPrincipalName: "alice"}).must(t, 201).json(t, &c.alice)
	return c
}

// permissions asks the directory what the client may use for the user
// without asking them: the rule the consents feed.
func (c consentEnv) missing(t *testing.T, userID, scope string) []string {
	t.Helper()
	client, err := c.dir.GetApplication(t.Context(), c.contoso.ID, c.client.AppID)
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.dir.ParseScopes(t.Context(), c.contoso.ID, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	_, missing, err := c.dir.Permissions(t.Context(), c.contoso.ID, client, userID, q)
	if err != nil {
		t.Fatal(err)
	}
	return missing.Strings()
}

func TestAdminConsent(t *testing.T) {
	c := newConsentEnv(t)
	if m := c.missing(t, c.alice.ID, "openid api://orders/read"); strings.Join(m, " ") != "openid api://orders/read" {
		t.Fatalf("before consent, missing %v", m)
	}

	// AllPrincipals is the default principal: an admin consent.
	var g ConsentGrant
	c.do("POST", c.consents, tokAdminA, ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{"read"}}).must(t, 200).json(t, &g)
	if g.ConsentType != "AllPrincipals" || g.PrincipalID != "" || g.ClientID != c.client.AppID || g.ResourceAppID != c.api.AppID ||
		strings.Join(g.Scopes, " ") != "read" {
		t.Fatalf("grant %+v", g)
	}
	c.do("POST", c.consents, tokAdminA, ConsentCreate{ClientID: c.client.AppID, Resource: directory.OIDCResource, Scopes: []string{"openid", "profile"}}).must(t, 200)
	if m := c.missing(t, c.alice.ID, "openid api://orders/read"); len(m) != 0 {
		t.Errorf("after admin consent, alice is still asked for %v", m)
	}

	// A consent grows: scopes granted later join the earlier ones.
	var merged ConsentGrant
	c.do("POST", c.consents, tokAdminA, ConsentCreate{ClientID: c.client.AppID, Resource: c.api.AppID, Scopes: []string{"write", "read"},
		Principal: "AllPrincipals"}).must(t, 200).json(t, &merged)
	if strings.Join(merged.Scopes, " ") != "read write" || !merged.CreatedAt.Equal(g.CreatedAt) {
		t.Errorf("merged %+v", merged)
	}

	// One user's consent.
	var own ConsentGrant
	c.do("POST", c.consents, tokAdminA, ConsentCreate{ClientID: "orders web", Resource: "api://orders", Scopes: []string{"read"},
		Principal: "alice@contoso.example"}).must(t, 404) // a display name is no reference
	c.do("POST", c.consents, tokAdminA, ConsentCreate{ClientID: c.client.ObjectID, Resource: "api://orders", Scopes: []string{"read"},
		Principal: "alice@contoso.example"}).must(t, 200).json(t, &own)
	if own.ConsentType != "Principal" || own.PrincipalID != c.alice.ID {
		t.Errorf("user consent %+v", own)
	}

	var listed List[ConsentGrant]
	c.do("GET", c.consents+"?client="+c.client.AppID, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 3 {
		t.Errorf("all consents of the client: %+v", listed.Value)
	}
	c.do("GET", c.consents+"?client="+c.client.AppID+"&principal=AllPrincipals", tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 2 || listed.Value[0].ConsentType != "AllPrincipals" || listed.Value[1].ConsentType != "AllPrincipals" {
		t.Errorf("admin consents: %+v", listed.Value)
	}
	c.do("GET", c.consents+"?client="+c.client.AppID+"&principal="+c.alice.ID, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 3 { // alice's own and the admin consents that hold for her
		t.Errorf("consents holding for alice: %+v", listed.Value)
	}

	// Revoke the admin consent: alice keeps her own, so only write is missing.
	c.do("DELETE", c.consents+"?client="+c.client.AppID+"&resource=api://orders", tokAdminA, nil).must(t, 204)
	if m := c.missing(t, c.alice.ID, "api://orders/read api://orders/write"); strings.Join(m, " ") != "api://orders/write" {
		t.Errorf("after revoking the admin consent, missing %v", m)
	}
	c.do("DELETE", c.consents+"?client="+c.client.AppID+"&resource=api://orders", tokAdminA, nil).must(t, 404)
	c.do("DELETE", c.consents+"?client="+c.client.AppID+"&resource=api://orders&principal=alice@contoso.example", tokAdminA, nil).must(t, 204)
	c.do("DELETE", c.consents+"?client="+c.client.AppID+"&resource=openid&principal=AllPrincipals", tokAdminA, nil).must(t, 204)
	c.do("GET", c.consents+"?client="+c.client.AppID, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 0 {
		t.Errorf("after revoking everything: %+v", listed.Value)
	}
	for _, op := range []string{`"kind":"admin.consent.grant"`, `"kind":"admin.consent.revoke"`} {
		if !strings.Contains(c.log.String(), op) {
			t.Errorf("%s is not in the audit log", op)
		}
	}
}

// TestConsentsGoWithTheirApplications: deleting an application removes the
// consents it holds as a client, so that an application registered later
// with the same appId (it can be chosen) inherits nothing.
func TestConsentsGoWithTheirApplications(t *testing.T) {
	c := newConsentEnv(t)
	c.do("POST", c.consents, tokAdminA, ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{"read"}}).must(t, 200)
	var listed List[ConsentGrant]
	c.do("GET", c.consents+"?client="+c.client.AppID, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 1 {
		t.Fatalf("consents before the delete: %+v", listed.Value)
	}
	c.do("DELETE", tenantPath(c.contoso, "/applications/"+c.client.AppID), tokAdminA, nil).must(t, 204)
	listed = List[ConsentGrant]{}
	c.do("GET", c.consents+"?client="+c.client.AppID, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 0 {
		t.Fatalf("consents of a deleted client: %+v", listed.Value)
	}
}

func TestConsentBadRequests(t *testing.T) {
	c := newConsentEnv(t)
	cases := []struct {
		rule   string
		body   ConsentCreate
		opts   []reqOpt
		status int
		msg    string
	}{
		{"all three are required", ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders"}, []reqOpt{invalidRequest}, 400, "all required"},
		{"only exposed scopes (RFC 6749 §3.3)", ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{"delete"}}, nil, 400, `does not expose the scope "delete"`},
		{"only enabled scopes", ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{"old"}}, nil, 400, `does not expose the scope "old"`},
		{".default is no scope", ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{".default"}}, nil, 400, "name the scopes"},
		{"scope values, not full scopes", ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{"api://orders/read"}}, nil, 400, "without the resource"},
		{"one scope per value", ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{"read write"}}, nil, 400, "without the resource"},
		{"openid has only the OIDC scopes", ConsentCreate{ClientID: c.client.AppID, Resource: "openid", Scopes: []string{"read"}}, nil, 400, "only the scopes openid"},
		{"unknown resource", ConsentCreate{ClientID: c.client.AppID, Resource: "api://nope", Scopes: []string{"read"}}, nil, 404, `resource "api://nope" does not exist`},
		{"unknown client", ConsentCreate{ClientID: "api://nope", Resource: "api://orders", Scopes: []string{"read"}}, nil, 404, `client application "api://nope" does not exist`},
		{"unknown user", ConsentCreate{ClientID: c.client.AppID, Resource: "api://orders", Scopes: []string{"read"}, Principal: "bob"}, nil, 404, `user "bob" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			b := c.do("POST", c.consents, tokAdminA, tc.body, tc.opts...).must(t, tc.status).errorBody(t)
			if !strings.Contains(b.Message, tc.msg) {
				t.Errorf("message %q, want %q", b.Message, tc.msg)
			}
		})
	}
	// A resource without a service principal gets no tokens, so no consent.
	var lonely Application
	c.do("POST", tenantPath(c.contoso, "/applications"), tokAdminA, ApplicationCreate{DisplayName: "lonely", Scopes: []Scope{{Value: "read"}}}).must(t, 201).json(t, &lonely)
	c.do("POST", c.consents, tokAdminA, ConsentCreate{ClientID: c.client.AppID, Resource: lonely.AppID, Scopes: []string{"read"}}).must(t, 404)

	c.do("GET", c.consents, tokAdminA, nil, invalidRequest).must(t, 400)
	c.do("GET", c.consents+"?client=api://nope", tokAdminA, nil).must(t, 404)
	c.do("DELETE", c.consents+"?client="+c.client.AppID, tokAdminA, nil, invalidRequest).must(t, 400)
	c.do("DELETE", c.consents+"?client="+c.client.AppID+"&resource=api://nope", tokAdminA, nil).must(t, 404)
	c.do("DELETE", c.consents+"?client="+c.client.AppID+"&resource=api://orders&principal=bob", tokAdminA, nil).must(t, 404)
}
