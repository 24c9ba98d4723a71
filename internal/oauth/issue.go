package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// idTokenLifetime is Entra's: an ID token proves a sign-in, it is not
// meant to be kept (OIDC Core §2).
const idTokenLifetime = time.Hour

// issuer is the issuance phase: it turns any grant's authorization into
// tokens, the response body and what the audit log keeps. It decides
// nothing (the grant and the directory have) and holds the few things
// minting needs.
type issuer struct {
	refresh   refreshTokens
	keys      signer
	publicURL string
	now       func() time.Time
	log       *slog.Logger
}

// refreshTokens keeps the refresh-token chains of user grants.
type refreshTokens interface {
	IssueRefreshToken(ctx context.Context, tenantID string, g session.Grant, inactivity time.Duration, accessToken session.IssuedToken, accessTokenExpiry time.Time) (string, error)
	Refresh(ctx context.Context, tenantID, presented, clientID string, inactivity, grace time.Duration, mint session.Minter) ([]byte, session.Grant, error)
}

// signer signs claims with the current key.
type signer interface {
	Sign(claims any) (string, error)
}

// issued is what the issuance phase returns: the response body in the
// endpoint's shape, the access token and its lifetime (the product login
// answers in its own shape), and what the audit log keeps.
type issued struct {
	body        []byte
	accessToken string
	lifetime    time.Duration
	record      issuedToken
}

// issue mints the tokens of an authorization. Nothing is answered before
// what it returns is durable: a refresh token is committed by the store
// before issue returns.
func (is *issuer) issue(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string, a authorization) (issued, *Error) {
	switch {
	case a.app != nil:
		return is.issueApp(ctx, req, client, clientAuth, a.app)
	case a.refresh != nil:
		return is.rotate(ctx, req, client, clientAuth, a.refresh)
	default:
		return is.issueUser(ctx, req, client, clientAuth, a.user)
	}
}

// userResponse holds the tokens of a user-grant response, written in the
// shape of the endpoint version.
type userResponse struct {
	version      int
	scope        string
	lifetime     time.Duration
	claims       token.UserClaims
	accessToken  string
	refreshToken string
	idToken      string
	clientInfo   string
	resource     string
	record       issuedToken
}

// userV2Response is the v2 endpoint's body for user grants (RFC 6749
// §5.1, OIDC Core §3.1.3.3, Microsoft's client_info). The numbers are JSON
// numbers, as Entra sends them.
type userV2Response struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// userV1Response is the v1 endpoint's body: Entra's v1 fields, numbers
// as strings.
type userV1Response struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// wire returns the body in the endpoint's shape.
func (r *userResponse) wire() any {
	secs := int64(r.lifetime.Seconds())
	if r.version == 1 {
		return userV1Response{TokenType: "Bearer", Scope: r.scope,
			ExpiresIn: strconv.FormatInt(secs, 10), ExtExpiresIn: strconv.FormatInt(secs, 10),
			ExpiresOn: strconv.FormatInt(r.claims.Expiry, 10), NotBefore: strconv.FormatInt(r.claims.NotBefore, 10),
			Resource: r.resource, AccessToken: r.accessToken, RefreshToken: r.refreshToken, IDToken: r.idToken, ClientInfo: r.clientInfo}
	}
	return userV2Response{TokenType: "Bearer", Scope: r.scope, ExpiresIn: secs, ExtExpiresIn: secs,
		AccessToken: r.accessToken, RefreshToken: r.refreshToken, IDToken: r.idToken, ClientInfo: r.clientInfo}
}

func (r *userResponse) accessTokenExpiry() time.Time { return time.Unix(r.claims.Expiry, 0) }

// issueApp mints an app-only token: the client's service principal, with
// the roles it holds on the resource.
func (is *issuer) issueApp(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string, a *appAuthorization) (issued, *Error) {
	res := a.resource
	aud := res.App.AppID
	if res.App.AccessTokenAcceptedVersion == 1 {
		aud = res.Requested
	}
	lifetime := directory.AccessTokenLifetime(res.App, 0)
	claims := token.AppTokenClaims(token.AppTokenParams{
		Version: res.App.AccessTokenAcceptedVersion, IssuerBase: is.publicURL, TenantID: req.TenantID, Audience: aud,
		ClientID: client.App.AppID, ClientSP: client.SP.ObjectID, ClientAuth: clientAuth,
		Roles: a.roles, IssuedAt: is.now(), Lifetime: lifetime,
	})
	at, err := is.keys.Sign(claims)
	if err != nil {
		return issued{}, errServer(err)
	}
	is.log.DebugContext(ctx, "issued token", "grant", "client_credentials", "tenant", req.TenantID,
		"client", client.App.AppID, "resource", res.App.AppID, "roles", a.roles, "uti", claims.UTI, "endpoint_version", req.Version)
	secs := int64(lifetime.Seconds())
	var body any = v2Response{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: at}
	if req.Version == 1 {
		body = v1Response{
			TokenType: "Bearer", ExpiresIn: strconv.FormatInt(secs, 10), ExtExpiresIn: strconv.FormatInt(secs, 10),
			ExpiresOn: strconv.FormatInt(claims.Expiry, 10), NotBefore: strconv.FormatInt(claims.NotBefore, 10),
			Resource: a.requested, AccessToken: at,
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return issued{}, errServer(err)
	}
	return issued{body: b, accessToken: at, lifetime: lifetime,
		record: issuedToken{subject: client.SP.ObjectID, resource: res.App.AppID}}, nil
}

// wantsRefreshToken: v2 issues a refresh token for offline_access (OIDC
// Core §11); the v1 endpoint, which has no such scope, always did in
// Entra for the interactive grants.
func wantsRefreshToken(version int, scopes directory.ScopeRequest) bool {
	return version == 1 || scopes.Has("offline_access")
}

// issueUser mints a user token and, for a new grant that wants one, the
// first refresh token of its rotation chain, committed by the store
// before the response is written.
func (is *issuer) issueUser(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string, u *userAuthorization) (issued, *Error) {
	resp, oerr := is.mintUser(ctx, req, client, clientAuth, u)
	if oerr != nil {
		return issued{}, oerr
	}
	if u.refresh && wantsRefreshToken(req.Version, u.Scopes) {
		rt, err := is.refresh.IssueRefreshToken(ctx, req.TenantID, u.grant, u.inactivity,
			session.IssuedToken{Audience: resp.claims.Audience, ID: resp.claims.JTI}, resp.accessTokenExpiry())
		if err != nil {
			return issued{}, errServer(err)
		}
		resp.refreshToken = rt
	}
	body, err := json.Marshal(resp.wire())
	if err != nil {
		return issued{}, errServer(err)
	}
	return issued{body: body, accessToken: resp.accessToken, lifetime: resp.lifetime, record: resp.record}, nil
}

// rotate redeems a refresh token for its successor. The tokens are minted
// and the response sealed before the store commits the rotation, so that
// a retry within the grace window gets the very same bytes; nothing is
// answered before the commit.
func (is *issuer) rotate(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string, r *rotation) (issued, *Error) {
	var record issuedToken
	mint := func(gr session.Grant, next string) (session.Minted, error) {
		// An *Error returned here leaves the refresh token unused.
		u, oerr := r.authorize(ctx, gr)
		if oerr != nil {
			return session.Minted{}, oerr
		}
		resp, oerr := is.mintUser(ctx, req, client, clientAuth, u)
		if oerr != nil {
			return session.Minted{}, oerr
		}
		resp.refreshToken, record = next, resp.record
		b, err := json.Marshal(resp.wire())
		if err != nil {
			return session.Minted{}, errServer(err)
		}
		return session.Minted{Response: b, AccessTokenID: resp.claims.JTI, AccessTokenExpiresAt: resp.accessTokenExpiry(),
			AccessTokenAudience: resp.claims.Audience, AccessTokenIssuedAt: time.Unix(resp.claims.IssuedAt, 0)}, nil
	}
	body, gr, err := is.refresh.Refresh(ctx, req.TenantID, r.presented, client.App.AppID, r.inactivity, r.grace, mint)
	if err != nil {
		return issued{}, refreshError(err)
	}
	if record.subject == "" {
		// A retry within the grace window: the response minted for the
		// first try, again; mint did not run to say what it holds.
		record = issuedToken{subject: gr.UserID, grantID: gr.ID, replay: true}
	}
	return issued{body: body, record: record}, nil
}

// refreshError maps the store's verdict on a presented refresh token.
func refreshError(err error) *Error {
	var oerr *Error
	switch {
	case errors.As(err, &oerr):
		return oerr
	case errors.Is(err, session.ErrWrongClient):
		// RFC 6749 §6: the token is bound to the client it was issued to.
		// Nothing changes: another client cannot revoke the owner's grant.
		return errBadRefreshToken(err)
	case errors.Is(err, session.ErrReuse), errors.Is(err, session.ErrRevoked):
		return errGrantRevoked(err)
	case errors.Is(err, session.ErrExpired):
		return errRefreshExpired(err)
	case errors.Is(err, session.ErrNotFound):
		return errBadRefreshToken(err)
	default:
		return errServer(err)
	}
}

// mintUser signs the access token (and the ID token when openid was
// granted) of a user authorization, as the directory decided it
// (directory.AuthorizeUserToken: user, scopes, audience, roles).
func (is *issuer) mintUser(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string, u *userAuthorization) (*userResponse, *Error) {
	// The first resource is the audience; with none (openid profile
	// offline_access) the access token is for the client itself and
	// carries the OIDC scopes, as Entra's token for such a request does.
	res, values, full := u.Audience, u.Scopes.OIDC, []string(nil)
	if len(u.Scopes.Resources) > 0 {
		first := u.Scopes.Resources[0]
		values, full = first.Values, first.Full()
	}
	aud := res.App.AppID
	if res.App.AccessTokenAcceptedVersion == 1 {
		aud = res.Requested
	}
	lifetime := directory.AccessTokenLifetime(res.App, u.lifetime)
	now := is.now()
	claims := token.UserTokenClaims(token.UserTokenParams{
		Version: res.App.AccessTokenAcceptedVersion, IssuerBase: is.publicURL, TenantID: req.TenantID, Audience: aud,
		ClientID: client.App.AppID, ClientAuth: clientAuth, UserID: u.User.ObjectID,
		UPN: u.User.UserPrincipalName, Name: u.User.DisplayName, Scopes: values, Roles: u.Roles,
		GrantID: u.grant.ID, IssuedAt: now, Lifetime: lifetime,
	})
	at, err := is.keys.Sign(claims)
	if err != nil {
		return nil, errServer(err)
	}
	if len(u.Scopes.Resources) > 0 && u.Scopes.Resources[0].Default && req.Version == 2 {
		// Entra's v2 answer names {resource}/.default when it was asked
		// for: MSAL takes a requested scope missing from the answer for
		// a declined one (MSAL for Go fails the request), and MSAL for
		// Python's cache finds tokens by the scopes the answer names.
		full = append(full, u.Scopes.Resources[0].Prefix+"/.default")
	}
	out := &userResponse{version: req.Version, lifetime: lifetime, claims: claims, accessToken: at,
		scope: strings.Join(append(full, u.Scopes.OIDC...), " "), resource: u.v1Resource,
		record: issuedToken{subject: u.User.ObjectID, resource: res.App.AppID, grantID: u.grant.ID}}
	if out.resource == "" {
		out.resource = aud
	}
	if u.Scopes.Has("openid") {
		// OIDC Core §5.4: email with the email scope; only an address an
		// administrator verified, since relying parties take it for the
		// user's (and some match accounts by it), and never otherwise.
		email := ""
		if u.Scopes.Has("email") && u.User.MailVerified {
			email = u.User.Mail
		}
		id := token.IDTokenClaims(token.IDTokenParams{
			Version: req.Version, IssuerBase: is.publicURL, TenantID: req.TenantID, ClientID: client.App.AppID,
			UserID: u.User.ObjectID, UPN: u.User.UserPrincipalName, Name: u.User.DisplayName, Email: email,
			Nonce: u.nonce, GrantID: u.grant.ID, AuthTime: u.grant.AuthTime, IssuedAt: now, Lifetime: idTokenLifetime,
		})
		if req.IDIssuer != "" {
			// OIDC Core §3.1.3.7: iss matches the issuer of the discovery
			// document the client read, here /adfs's.
			id.Issuer = req.IDIssuer
		}
		if out.idToken, err = is.keys.Sign(id); err != nil {
			return nil, errServer(err)
		}
	}
	if req.ClientInfo {
		out.clientInfo = token.ClientInfo(u.User.ObjectID, req.TenantID)
	}
	is.log.DebugContext(ctx, "issued token", "tenant", req.TenantID, "client", client.App.AppID, "user", u.User.ObjectID,
		"resource", res.App.AppID, "scp", claims.Scope, "roles", u.Roles, "sid", u.grant.ID, "uti", claims.UTI, "endpoint_version", req.Version)
	return out, nil
}
