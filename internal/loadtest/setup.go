package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
)

// SetupConfig says where to create a scenario's objects and as whom: an
// admin token, or an admin client's credentials to get one.
type SetupConfig struct {
	BaseURL, Tenant string
	Transport       http.RoundTripper
	AdminToken      string
	AdminClientID   string
	AdminSecret     string
	// Tag names everything made ("tessera-loadtest" by default): a second
	// setup with the same tag finds and reuses what the first one made.
	Tag string
	// User and Password, if set, are the user's name and password;
	// otherwise {Tag}-user and a new random password.
	User, Password string
}

// Made is what Setup created or found, enough to run every scenario.
type Made struct {
	Tenant         string `json:"tenant"`
	APIAppID       string `json:"apiAppId"`
	APIScope       string `json:"apiScope"`  // api://{id}/.default, for client credentials
	UserScope      string `json:"userScope"` // api://{id}/Studies.Read, for people
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	PublicClientID string `json:"publicClientId"`
	RedirectURI    string `json:"redirectUri"`
	User           string `json:"user"`
	Password       string `json:"password"`
}

// SetupRedirectURI is the public client's redirect URI. Nothing listens
// there: the load tool reads the code from the redirect, unfollowed.
const SetupRedirectURI = "http://localhost:8400/callback"

// Setup creates, through the admin API at BaseURL/admin/v1, what the
// scenarios need, reusing what a previous setup with the same tag made:
//   - an API with an app role Reader and a delegated scope Studies.Read
//     that pre-authorizes both clients below (so no consent page);
//   - a confidential client with a new secret, holding Reader;
//   - a public client with the redirect SetupRedirectURI, to which an
//     administrator consented the sign-in scopes (openid, profile, email,
//     offline_access) for every user;
//   - a user with a password, holding Reader;
//   - the tenant policy: product login for the API, refresh grace on.
func Setup(ctx context.Context, cfg SetupConfig) (Made, error) {
	if cfg.Tag == "" {
		cfg.Tag = "tessera-loadtest"
	}
	a := &admin{base: strings.TrimRight(cfg.BaseURL, "/") + "/admin/v1", hc: &http.Client{Transport: cfg.Transport, CheckRedirect: noRedirects}, token: cfg.AdminToken}
	if a.token == "" {
		if cfg.AdminClientID == "" || cfg.AdminSecret == "" {
			return Made{}, errors.New("--setup needs --admin-token, or --admin-client-id and --admin-client-secret")
		}
		tr, err := postForm(ctx, a.hc, strings.TrimRight(cfg.BaseURL, "/")+"/"+url.PathEscape(cfg.Tenant)+"/oauth2/v2.0/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {cfg.AdminClientID}, "client_secret": {cfg.AdminSecret},
			"scope": {directory.AdminAPIIdentifierURI + "/.default"},
		}, [2]string{})
		if err != nil {
			return Made{}, fmt.Errorf("getting an admin API token: %w", err)
		}
		a.token = tr.AccessToken
	}
	tp := "/tenants/" + url.PathEscape(cfg.Tenant)
	var tenant adminapi.Tenant
	if err := a.do(ctx, "GET", tp, nil, &tenant); err != nil {
		return Made{}, err
	}
	apps, err := call[adminapi.List[adminapi.Application]](ctx, a, "GET", tp+"/applications", nil)
	if err != nil {
		return Made{}, err
	}
	app := func(name string, spec adminapi.ApplicationCreate) (adminapi.Application, error) {
		spec.DisplayName = cfg.Tag + " " + name
		for _, x := range apps.Value {
			if x.DisplayName == spec.DisplayName {
				return x, a.ensureSP(ctx, tp, x.AppID)
			}
		}
		made, err := call[adminapi.Application](ctx, a, "POST", tp+"/applications", spec)
		if err != nil {
			return made, err
		}
		return made, a.ensureSP(ctx, tp, made.AppID)
	}
	api, err := app("API", adminapi.ApplicationCreate{
		AppRoles: []adminapi.AppRole{{Value: "Reader", DisplayName: "Reader"}},
		Scopes:   []adminapi.Scope{{Value: "Studies.Read", AdminConsentDisplayName: "Read studies"}},
	})
	if err != nil {
		return Made{}, err
	}
	conf, err := app("client", adminapi.ApplicationCreate{})
	if err != nil {
		return Made{}, err
	}
	pub, err := app("public client", adminapi.ApplicationCreate{PublicClient: true, RedirectURIs: []string{SetupRedirectURI}})
	if err != nil {
		return Made{}, err
	}
	pre := []directory.PreAuthorizedApplication{{AppID: conf.AppID, Scopes: []string{"Studies.Read"}}, {AppID: pub.AppID, Scopes: []string{"Studies.Read"}}}
	if _, err := call[adminapi.Application](ctx, a, "PATCH", tp+"/applications/"+api.AppID, adminapi.ApplicationPatch{PreAuthorized: &pre}); err != nil {
		return Made{}, err
	}
	// Pre-authorization covers the API's scopes only; the sign-in scopes
	// need consent too, and the password grant has no page to ask for it:
	// consent as an administrator, for every user.
	oidc := adminapi.ConsentCreate{ClientID: pub.AppID, Resource: directory.OIDCResource, Scopes: []string{"openid", "profile", "email", "offline_access"}}
	if err := a.do(ctx, "POST", tp+"/consents", oidc, nil); err != nil && !isConflict(err) {
		return Made{}, err
	}
	secret, err := a.replaceSecret(ctx, tp, conf.AppID, cfg.Tag)
	if err != nil {
		return Made{}, err
	}
	user, password, err := a.ensureUser(ctx, tp, cfg)
	if err != nil {
		return Made{}, err
	}
	for _, who := range []string{conf.AppID, user} {
		err := a.do(ctx, "POST", tp+"/roleAssignments", directory.AssignmentSpec{Principal: who, Resource: api.AppID, Role: "Reader"}, nil)
		if err != nil && !isConflict(err) {
			return Made{}, err
		}
	}
	identifier := "api://" + api.AppID
	if len(api.IdentifierURIs) > 0 {
		identifier = api.IdentifierURIs[0]
	}
	if err := a.setPolicy(ctx, tp, tenant.Policy, identifier); err != nil {
		return Made{}, err
	}
	return Made{
		Tenant: cfg.Tenant, APIAppID: api.AppID, APIScope: identifier + "/.default", UserScope: identifier + "/Studies.Read",
		ClientID: conf.AppID, ClientSecret: secret, PublicClientID: pub.AppID, RedirectURI: SetupRedirectURI,
		User: user, Password: password,
	}, nil
}

func (a *admin) ensureSP(ctx context.Context, tp, appID string) error {
	err := a.do(ctx, "POST", tp+"/servicePrincipals", directory.ServicePrincipalSpec{AppID: appID}, nil)
	if err != nil && !isConflict(err) {
		return err
	}
	return nil
}

// replaceSecret removes the secrets an earlier setup added under tag and
// adds a new one: a secret is shown only once, so the old ones are of no
// use to anyone, and a setup run again should not pile them up.
func (a *admin) replaceSecret(ctx context.Context, tp, appID, tag string) (string, error) {
	path := tp + "/applications/" + appID + "/credentials"
	creds, err := call[adminapi.List[directory.Credential]](ctx, a, "GET", path, nil)
	if err != nil {
		return "", err
	}
	for _, c := range creds.Value {
		if c.Type == directory.CredentialSecret && c.DisplayName == tag {
			if err := a.do(ctx, "DELETE", path+"/"+url.PathEscape(c.KeyID), nil, nil); err != nil {
				return "", err
			}
		}
	}
	s, err := call[adminapi.SecretCredential](ctx, a, "POST", path, adminapi.CredentialCreate{Type: directory.CredentialSecret, DisplayName: tag})
	return s.SecretText, err
}

// ensureUser creates the user, or sets the password of the one an earlier
// setup made, and returns its user principal name and password.
func (a *admin) ensureUser(ctx context.Context, tp string, cfg SetupConfig) (string, string, error) {
	name, password := cfg.User, cfg.Password
	if name == "" {
		name = cfg.Tag + "-user"
	}
	if password == "" {
		password = "Lt-" + randomToken()[:24]
	}
	u, err := call[adminapi.User](ctx, a, "POST", tp+"/users", adminapi.UserCreate{UserPrincipalName: name, DisplayName: cfg.Tag + " user", Password: password})
	if isConflict(err) {
		u, err = call[adminapi.User](ctx, a, "POST", tp+"/users/"+url.PathEscape(name)+"/password", adminapi.PasswordSet{Password: password})
	}
	return u.UserPrincipalName, password, err
}

// setPolicy points product login at the API and turns the refresh grace
// window on, keeping the rest of the policy as it is: PUT replaces the
// whole policy, so it sends back what GET showed.
func (a *admin) setPolicy(ctx context.Context, tp string, p adminapi.TenantPolicy, resource string) error {
	grace := p.RefreshGraceSeconds
	if grace <= 0 {
		grace = 5
	}
	up := adminapi.TenantPolicyUpdate{
		RefreshTokenInactivitySeconds: &p.RefreshTokenInactivitySeconds,
		RefreshTokenLifetimeSeconds:   &p.RefreshTokenLifetimeSeconds,
		RefreshGraceSeconds:           &grace,
		PasswordGrantDisabled:         p.PasswordGrantDisabled,
		ProductLoginLifetimeSeconds:   &p.ProductLoginLifetimeSeconds,
		ProductLoginResource:          resource,
		ProductLoginResources:         p.ProductLoginResources,
		LockoutThreshold:              &p.LockoutThreshold,
		LockoutDurationSeconds:        &p.LockoutDurationSeconds,
		SessionLifetimeSeconds:        &p.SessionLifetimeSeconds,
	}
	return a.do(ctx, "PUT", tp+"/policy", up, nil)
}

// admin calls the admin API with a bearer token.
type admin struct {
	base  string
	hc    *http.Client
	token string
}

type adminError struct {
	status int
	body   adminapi.ErrorBody
	path   string
}

func (e *adminError) Error() string {
	if e.body.Message == "" {
		return fmt.Sprintf("admin API %s: HTTP %d", e.path, e.status)
	}
	return fmt.Sprintf("admin API %s: %s", e.path, e.body.Message)
}

func isConflict(err error) bool {
	var e *adminError
	return errors.As(err, &e) && e.status == http.StatusConflict
}

func call[T any](ctx context.Context, a *admin, method, path string, in any) (T, error) {
	var out T
	err := a.do(ctx, method, path, in, &out)
	return out, err
}

func (a *admin) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin API %s: %w", path, err)
	}
	raw, err := readBody(res)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var er adminapi.ErrorResponse
		_ = json.Unmarshal(raw, &er)
		return &adminError{status: res.StatusCode, body: er.Error, path: method + " " + path}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
