package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultClientID is the Azure CLI's public client id. Entra knows it in
// every tenant, and tessera registers it in every tenant too, so that
// `tessera login` and `az login` sign in without any app registration.
const DefaultClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// DefaultUserTenant lets the user's directory decide the tenant at sign-in,
// as az login does.
const DefaultUserTenant = "organizations"

// loginScopes are asked for at every sign-in: an ID token to learn who
// signed in (openid, profile) and a refresh token (offline_access).
var loginScopes = []string{"openid", "profile", "offline_access"}

// UserLogin describes a person's sign-in.
type UserLogin struct {
	Authority string
	Tenant    string   // a GUID, a domain, or organizations (the default)
	ClientID  string   // default DefaultClientID
	Scopes    []string // asked for besides loginScopes, as az login --scope
	CAFile    string   // remembered in the profile
}

func (l UserLogin) withDefaults() UserLogin {
	l.Authority = NormalizeAuthority(l.Authority)
	if l.Tenant == "" {
		l.Tenant = DefaultUserTenant
	}
	if l.ClientID == "" {
		l.ClientID = DefaultClientID
	}
	return l
}

// scope is the scope parameter of every request of the sign-in.
func (l UserLogin) scope() string {
	out := slices.Clone(loginScopes)
	for _, s := range l.Scopes {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return strings.Join(out, " ")
}

// extraTarget is what the access token of the sign-in is for, when the
// person asked for more than the login scopes.
func (l UserLogin) extraTarget() (Target, bool) {
	var extra []string
	for _, s := range l.Scopes {
		extra = append(extra, strings.Fields(s)...)
	}
	return Target{Scope: strings.Join(extra, " ")}, len(extra) > 0
}

// signIn is a sign-in in progress: where it goes and what it checks.
type signIn struct {
	l     UserLogin
	d     Discovery
	nonce string // "" where the grant has no authorization request
}

func (c *Client) beginSignIn(ctx context.Context, l UserLogin) (*signIn, error) {
	l = l.withDefaults()
	if err := CheckAuthority(l.Authority); err != nil {
		return nil, err
	}
	d, err := c.Discover(ctx, l.Authority, l.Tenant)
	if err != nil {
		return nil, err
	}
	return &signIn{l: l, d: d}, nil
}

// tenantPath is the tenant in the URLs of the sign-in: the GUID discovery
// found, else the alias as given.
func (si *signIn) tenantPath() string {
	if si.d.TenantID != "" {
		return si.d.TenantID
	}
	return si.l.Tenant
}

func (si *signIn) tokenEndpoint() string {
	return TokenEndpoint(si.l.Authority, si.tenantPath(), false)
}

func (si *signIn) keysURL() string {
	return endpoint(si.d.JWKSURI, si.l.Authority+"/"+url.PathEscape(si.tenantPath())+"/discovery/v2.0/keys", si.l.Tenant)
}

// LoginBrowser signs a person in with the authorization code grant and
// PKCE (RFC 6749 §4.1, RFC 7636 with S256) in the system browser, as a
// native app does it (RFC 8252): the response comes back to a loopback
// redirect, its state and issuer are checked, and the code is redeemed
// with the verifier only this process knows.
func (c *Client) LoginBrowser(ctx context.Context, s *Store, l UserLogin) (Profile, error) {
	si, err := c.beginSignIn(ctx, l)
	if err != nil {
		return Profile{}, err
	}
	verifier, state := randomString(32), randomString(16)
	si.nonce = randomString(16)
	lb, err := startLoopback(state, func(iss string) error {
		if iss == "" {
			if si.d.AuthorizationResponseIss {
				return errors.New("the sign-in response carries no iss, which the authority promises (RFC 9207)")
			}
			return nil
		}
		if _, err := si.d.checkIssuer(iss); err != nil {
			return fmt.Errorf("the sign-in response comes from another authority: %w", err)
		}
		return nil
	})
	if err != nil {
		return Profile{}, err
	}
	defer lb.close()

	challenge := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {si.l.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {lb.redirectURI},
		"scope":                 {si.l.scope()},
		"state":                 {state},
		"nonce":                 {si.nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
		"response_mode":         {"query"},
		"client_info":           {"1"},
	}
	authz := endpoint(si.d.AuthorizationEndpoint, si.l.Authority+"/"+url.PathEscape(si.l.Tenant)+"/oauth2/v2.0/authorize", si.l.Tenant)
	u := authz + "?" + q.Encode()
	open := c.OpenBrowser
	if open == nil {
		open = OpenSystemBrowser
	}
	if err := open(ctx, u); err != nil {
		fmt.Fprintf(c.status(), "Cannot open a browser (%v). Open this URL in a browser on this machine to sign in:\n%s\n"+
			"Where there is no browser, use `tessera login --use-device-code`.\n", err, u)
	} else {
		fmt.Fprintf(c.status(), "A web browser has been opened at %s. Continue the sign-in there.\n"+
			"If no browser opened, open this URL yourself:\n%s\nWhere there is no browser, use `tessera login --use-device-code`.\n", authz, u)
	}
	res := lb.wait(ctx)
	if res.err != nil {
		return Profile{}, res.err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {si.l.ClientID},
		"code":          {res.code},
		"redirect_uri":  {lb.redirectURI},
		"code_verifier": {verifier},
		"scope":         {si.l.scope()},
		"client_info":   {"1"},
	}
	return c.redeemSignIn(ctx, s, si, form, "")
}

// LoginPassword signs a person in with the resource owner password
// credentials grant (RFC 6749 §4.3), as `az login -u -p` does. Entra
// refuses it for accounts with MFA or federation; it suits test and
// automation accounts.
func (c *Client) LoginPassword(ctx context.Context, s *Store, l UserLogin, username string, password Secret) (Profile, error) {
	si, err := c.beginSignIn(ctx, l)
	if err != nil {
		return Profile{}, err
	}
	form := url.Values{
		"grant_type":  {"password"},
		"client_id":   {si.l.ClientID},
		"username":    {username},
		"password":    {string(password)},
		"scope":       {si.l.scope()},
		"client_info": {"1"},
	}
	return c.redeemSignIn(ctx, s, si, form, password)
}

// redeemSignIn posts the grant to the token endpoint, checks the answer and
// stores the account as the default one, with its refresh token and, when
// scopes beyond the login ones were asked for, its access token.
// A password is scrubbed from any error the server echoes.
func (c *Client) redeemSignIn(ctx context.Context, s *Store, si *signIn, form url.Values, password Secret) (Profile, error) {
	now := c.now()
	body, err := c.postForm(ctx, si.tokenEndpoint(), form, password)
	if err != nil {
		return Profile{}, err
	}
	return c.completeSignIn(ctx, s, si, body, now)
}

// userTokenResponse is a token response to a user grant: the access token
// fields and what a sign-in adds.
type userTokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ClientInfo   string `json:"client_info"`
}

func (c *Client) completeSignIn(ctx context.Context, s *Store, si *signIn, body []byte, now time.Time) (Profile, error) {
	var r userTokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Profile{}, fmt.Errorf("the token endpoint's answer is not a token response: %w", err)
	}
	if r.IDToken == "" {
		return Profile{}, errors.New("the server returned no ID token, so who signed in is unknown: it must grant the openid scope")
	}
	if r.RefreshToken == "" {
		return Profile{}, errors.New("the server returned no refresh token: it must grant the offline_access scope to the CLI")
	}
	cl, err := c.verifyIDToken(ctx, si.d, si.keysURL(), r.IDToken, si.l.ClientID, si.nonce)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{
		Type: User, Authority: si.l.Authority, Tenant: si.l.Tenant, TenantID: strings.ToLower(cl.TenantID),
		ClientID: si.l.ClientID, Username: cl.username(), CAFile: si.l.CAFile,
		ObjectID: strings.ToLower(cl.ObjectID), HomeTenantID: strings.ToLower(cl.TenantID),
	}
	if IsMultiTenant(p.Tenant) {
		// Later requests go to the tenant signed in to, as az's do.
		p.Tenant = p.TenantID
	}
	if r.ClientInfo != "" {
		ci, err := parseClientInfo(r.ClientInfo)
		if err != nil {
			return Profile{}, fmt.Errorf("the server's %v", err)
		}
		p.ObjectID, p.HomeTenantID = strings.ToLower(ci.UID), strings.ToLower(ci.UTID)
	}
	var target *Target
	var tok Token
	if t, ok := si.l.extraTarget(); ok && r.AccessToken != "" {
		if tok, err = parseTokenResponse(body, now); err != nil {
			return Profile{}, err
		}
		target = &t
	}
	if err := s.SaveUser(p, r.RefreshToken, target, tok, now); err != nil {
		return Profile{}, fmt.Errorf("signed in, but cannot store the account in %s: %w", s.Dir(), err)
	}
	p.IsDefault = true
	return p, nil
}

// SaveUser stores a signed-in user's profile as the default, replacing the
// same account's profile and tokens, with its refresh token and, if t is
// not nil, tok as the access token for t: one update, so another process
// sees the old account or the new, never half of each.
func (s *Store) SaveUser(p Profile, refreshToken string, t *Target, tok Token, now time.Time) error {
	p.Authority = NormalizeAuthority(p.Authority)
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Type != User || refreshToken == "" {
		return errors.New("account: SaveUser needs a user profile and its refresh token")
	}
	return s.update(func() error {
		doc, err := s.loadTokensDoc()
		if err != nil {
			return err
		}
		if err := s.saveProfileLocked(p); err != nil {
			return err
		}
		dropAccountTokens(doc, p)
		doc.RefreshTokens[accountKey(p)] = refreshEntry{
			Authority: p.Authority, ClientID: p.ClientID, HomeAccountID: p.HomeAccountID(),
			Username: p.Username, Secret: refreshToken,
		}
		if t != nil && tok.AccessToken != "" {
			doc.put(p, *t, tok, now)
		}
		return s.saveTokensDoc(doc)
	})
}

// randomString is n random bytes, base64url: 32 bytes make a PKCE code
// verifier of 43 characters (RFC 7636 §4.1); 16 make state and nonce
// values no one can guess.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
