package oauth

import (
	"context"
	"errors"
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

// issuance is everything a user-grant response is made from, once the
// grant has decided who, for which client and with which scopes.
type issuance struct {
	tenantID   string
	policy     directory.TenantPolicy // effective
	version    int                    // of the endpoint: 1 or 2
	client     directory.Client
	clientAuth string
	user       directory.User
	grant      session.Grant
	// scopes are decided (values expanded, consent checked): the first
	// resource is the access token's audience; with none, the token is for
	// the client itself.
	scopes directory.ScopeRequest
	// v1Resource is the resource parameter as sent, echoed on v1.
	v1Resource string
	nonce      string
	clientInfo bool
	// idIssuer overrides the ID token's iss (tokenRequest.IDIssuer).
	idIssuer string
	// lifetime overrides the resource's access-token lifetime (product
	// login); zero keeps it. The admin API's cap holds either way
	// (directory.AccessTokenLifetime).
	lifetime time.Duration
	// issued, when set, receives what was issued, for the audit log.
	issued *issuedToken
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

// wantsRefreshToken: v2 issues a refresh token for offline_access (OIDC
// Core §11); the v1 endpoint, which has no such scope, always did in
// Entra for the interactive grants.
func (is *issuance) wantsRefreshToken() bool {
	return is.version == 1 || is.scopes.Has("offline_access")
}

// mintUser signs the access token (and the ID token when openid was
// granted) of an issuance. The refresh token is the caller's: it is
// stored with the access token's id, or, on refresh, minted by sessions.
func (h *Handler) mintUser(ctx context.Context, is *issuance) (*userResponse, *Error) {
	// Every token naming a user is minted here: none may carry a name
	// outside the domains of the user's tenant, which another tenant may
	// own (a user from before names were bound; the grant holds until the
	// user is renamed).
	if err := h.dir.CheckNameBound(ctx, is.user); errors.Is(err, directory.ErrNameNotBound) {
		return nil, errNameNotBound(err)
	} else if err != nil {
		return nil, errServer(err)
	}
	res := directory.Resource{App: is.client.App, SP: is.client.SP, Requested: is.client.App.AppID}
	var values, full []string
	if len(is.scopes.Resources) > 0 {
		first := is.scopes.Resources[0]
		res, values, full = first.Resource, first.Values, first.Full()
	} else {
		// No resource at all (openid profile offline_access): the access
		// token is for the client itself and carries the OIDC scopes, as
		// Entra's token for such a request does.
		values = is.scopes.OIDC
	}
	version := res.App.AccessTokenAcceptedVersion
	aud := res.App.AppID
	if version == 1 {
		aud = res.Requested
	}
	roles, oerr := h.userRoles(ctx, is.tenantID, is.user, res)
	if oerr != nil {
		return nil, oerr
	}
	lifetime := directory.AccessTokenLifetime(res.App, is.lifetime)
	now := h.now()
	claims := token.UserTokenClaims(token.UserTokenParams{
		Version: version, IssuerBase: h.publicURL, TenantID: is.tenantID, Audience: aud,
		ClientID: is.client.App.AppID, ClientAuth: is.clientAuth, UserID: is.user.ObjectID,
		UPN: is.user.UserPrincipalName, Name: is.user.DisplayName, Scopes: values, Roles: roles,
		GrantID: is.grant.ID, IssuedAt: now, Lifetime: lifetime,
	})
	at, err := h.keys.Sign(claims)
	if err != nil {
		return nil, errServer(err)
	}
	if len(is.scopes.Resources) > 0 && is.scopes.Resources[0].Default && is.version == 2 {
		// Entra's v2 answer names {resource}/.default when it was asked
		// for: MSAL takes a requested scope missing from the answer for
		// a declined one (MSAL for Go fails the request), and MSAL for
		// Python's cache finds tokens by the scopes the answer names.
		full = append(full, is.scopes.Resources[0].Prefix+"/.default")
	}
	out := &userResponse{version: is.version, lifetime: lifetime, claims: claims, accessToken: at,
		scope: strings.Join(append(full, is.scopes.OIDC...), " "), resource: is.v1Resource}
	if out.resource == "" {
		out.resource = aud
	}
	if is.scopes.Has("openid") {
		// OIDC Core §5.4: email with the email scope; only an address an
		// administrator verified, since relying parties take it for the
		// user's (and some match accounts by it), and never otherwise.
		email := ""
		if is.scopes.Has("email") && is.user.MailVerified {
			email = is.user.Mail
		}
		id := token.IDTokenClaims(token.IDTokenParams{
			Version: is.version, IssuerBase: h.publicURL, TenantID: is.tenantID, ClientID: is.client.App.AppID,
			UserID: is.user.ObjectID, UPN: is.user.UserPrincipalName, Name: is.user.DisplayName, Email: email,
			Nonce: is.nonce, GrantID: is.grant.ID, AuthTime: is.grant.AuthTime, IssuedAt: now, Lifetime: idTokenLifetime,
		})
		if is.idIssuer != "" {
			// OIDC Core §3.1.3.7: iss matches the issuer of the discovery
			// document the client read, here /adfs's.
			id.Issuer = is.idIssuer
		}
		if out.idToken, err = h.keys.Sign(id); err != nil {
			return nil, errServer(err)
		}
	}
	if is.clientInfo {
		out.clientInfo = token.ClientInfo(is.user.ObjectID, is.tenantID)
	}
	if is.issued != nil {
		*is.issued = issuedToken{subject: is.user.ObjectID, resource: res.App.AppID, grantID: is.grant.ID}
	}
	h.log.DebugContext(ctx, "issued token", "tenant", is.tenantID, "client", is.client.App.AppID, "user", is.user.ObjectID,
		"resource", res.App.AppID, "scp", claims.Scope, "roles", roles, "sid", is.grant.ID, "uti", claims.UTI, "endpoint_version", is.version)
	return out, nil
}

// issueWithRefresh mints the tokens of a new grant's first response
// (authorization code, device code, password) and, when the grant allows
// it, the first refresh token of the grant's rotation chain. The refresh
// token is committed by the store before the response is written.
func (h *Handler) issueWithRefresh(ctx context.Context, is *issuance) (any, *Error) {
	resp, oerr := h.mintUser(ctx, is)
	if oerr != nil {
		return nil, oerr
	}
	if is.wantsRefreshToken() {
		rt, err := h.sessions.IssueRefreshToken(ctx, is.tenantID, is.grant, is.policy.RefreshTokenInactivity,
			session.IssuedToken{Audience: resp.claims.Audience, ID: resp.claims.JTI}, resp.accessTokenExpiry())
		if err != nil {
			return nil, errServer(err)
		}
		resp.refreshToken = rt
	}
	return resp.wire(), nil
}

// userRoles are the user's roles of the resource a token is for, when the
// user may have a token for it at all (directory.AuthorizeUser).
func (h *Handler) userRoles(ctx context.Context, tenantID string, user directory.User, res directory.Resource) ([]string, *Error) {
	roles, err := h.dir.AuthorizeUser(ctx, tenantID, user.ObjectID, res)
	switch {
	case errors.Is(err, directory.ErrUserNotAssigned):
		return nil, errUserNotAssigned(user, res, err)
	case err != nil:
		return nil, errServer(err)
	}
	return roles, nil
}

// activeUser loads the user a grant is for; a user gone or disabled since
// the grant was made ends it (the directory also revokes it then).
func (h *Handler) activeUser(ctx context.Context, tenantID, userID string) (directory.User, *Error) {
	u, err := h.dir.GetUser(ctx, tenantID, userID)
	if errors.Is(err, directory.ErrNotFound) {
		return u, errGrantRevoked(err)
	}
	if err != nil {
		return u, errServer(err)
	}
	if !u.Enabled {
		return u, errUserDisabled(errors.New("user " + u.ObjectID + " is disabled"))
	}
	return u, nil
}
