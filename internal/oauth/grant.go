package oauth

import (
	"context"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// grant is one grant type (one file each). The token endpoint runs the
// shared phases — parse, resolve the tenant, authenticate the client —
// then asks the grant who may have which token, and issues it in one
// phase (issuer.issue). A grant authenticates and authorizes: it never
// mints, writes a response or audits, and it cannot skip a phase because
// it never runs one.
//
// Adding a grant: write its file (tenantOf, publicClients, authorize
// returning an authorization; ask directory.AuthorizeUserToken for any
// token about a user), give it the narrow interfaces it uses, and add a
// row to grantTable; discovery advertises it from there.
//
// How a refresh walks through (serveToken): parseClientRequest reads the
// form; the tenant is resolved; authenticateClient identifies the public
// client; refreshTokenGrant.authorize returns a rotation; issuer.rotate
// asks session.Refresh to rotate the token, which calls back, only when
// this request may win, to decide (directory.AuthorizeUserToken: the
// user, the scopes the consents allow now, the name, the roles) and to
// mint. The successor's response is signed and sealed before the store
// commits, so that a retry within the grace window gets the same bytes;
// nothing is answered before the commit. serveToken writes the response
// and audits what issue returned.
type grant interface {
	// publicClients reports whether a public client (one that holds no
	// credential, RFC 6749 §2.1) may use the grant, authenticated by its
	// client_id alone.
	publicClients() bool
	// tenantOf names the tenant of a request made to a multi-tenant
	// endpoint (/common/, /organizations/): the tenant the presented value
	// belongs to. A grant that cannot serve there returns an error.
	tenantOf(req *tokenRequest) (string, *Error)
	// authorize decides what the authenticated client gets.
	authorize(ctx context.Context, req *tokenRequest, client directory.Client) (authorization, *Error)
}

// authorization is a grant's decision, all the issuance phase needs
// besides the request: who the token is about (a user, or the client's
// own service principal), for which resource, with which scopes or app
// roles, and from which sign-in. Exactly one of app, user and refresh is
// set.
type authorization struct {
	app     *appAuthorization
	user    *userAuthorization
	refresh *rotation
}

// appAuthorization is an app-only token (RFC 6749 §4.4): the client's
// service principal, the resource, the app roles it holds there.
type appAuthorization struct {
	resource directory.Resource
	roles    []string
	// requested is the resource as the client named it, which the v1
	// endpoint echoes.
	requested string
}

// userAuthorization is a token about a user: the directory's decision
// (who, which scopes, which resource, which roles; only
// directory.AuthorizeUserToken makes one), and the sign-in it comes from.
type userAuthorization struct {
	directory.UserToken
	// grant is the sign-in the token comes from: its id is the token's
	// sid, its AuthTime the ID token's auth_time.
	grant session.Grant
	// v1Resource is the resource parameter as sent, echoed on v1.
	v1Resource string
	nonce      string
	// lifetime overrides the resource's access-token lifetime (product
	// login); zero keeps it. The admin API's cap holds either way
	// (directory.AccessTokenLifetime).
	lifetime time.Duration
	// refresh starts the grant's refresh-token chain when the request
	// wants one (wantsRefreshToken), inactive for at most inactivity.
	refresh    bool
	inactivity time.Duration
}

// rotation is a refresh (RFC 6749 §6) with rotation (RFC 9700 §4.14.2).
// Who gets which token is decided only once this request has won the
// rotation, from the grant as the store holds it then: authorize runs
// inside the store's rotation, and a retry within the grace window gets
// the response sealed for the first try without it.
type rotation struct {
	presented         string
	inactivity, grace time.Duration
	authorize         func(ctx context.Context, gr session.Grant) (*userAuthorization, *Error)
}

// grantTypeDeviceCode is RFC 8628 §3.4's grant type.
const grantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// registeredGrant is a row of the grant table: discovery advertises what
// the table holds, so it cannot name a grant that is not served.
type registeredGrant struct {
	grantType string
	grant     grant
	// alias: accepted under this name too, not advertised.
	alias bool
}

// grantTable is the token endpoint's grants over the handler's
// dependencies, in the order discovery names them. Each grant holds only
// what it uses.
func grantTable(cfg Config, now func() time.Time) []registeredGrant {
	var table []registeredGrant
	var device grant
	if cfg.Sessions != nil {
		// The user grants keep state in sessions; without it (a
		// machine-to-machine deployment, benchmarks) they are not offered.
		users := userFacts{dir: cfg.Directory}
		device = deviceCodeGrant{devices: cfg.Sessions, users: users}
		table = append(table,
			registeredGrant{grantType: "authorization_code", grant: authorizationCode{codes: cfg.Sessions, users: users}},
			registeredGrant{grantType: "refresh_token", grant: refreshTokenGrant{dir: cfg.Directory}},
			registeredGrant{grantType: grantTypeDeviceCode, grant: device},
			registeredGrant{grantType: "password", grant: passwordGrant{dir: cfg.Directory, grants: cfg.Sessions, users: users, now: now}},
		)
	}
	table = append(table, registeredGrant{grantType: "client_credentials", grant: clientCredentials{dir: cfg.Directory}})
	if device != nil {
		// msal-node and some older libraries send the bare name.
		table = append(table, registeredGrant{grantType: "device_code", grant: device, alias: true})
	}
	return table
}

// grantTypesSupported is discovery's grant_types_supported: the grant
// table's names, aliases left out.
func (h *Handler) grantTypesSupported() []string {
	var out []string
	for _, g := range h.grantTable {
		if !g.alias {
			out = append(out, g.grantType)
		}
	}
	return out
}
