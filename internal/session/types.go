// Package session is the state of signed-in users: browser sessions,
// grants (a sign-in of a user to a client, the unit of revocation, whose id
// is the tokens' sid), authorization codes, refresh tokens with rotation and
// reuse detection, device codes, and the revocation feed resource servers
// follow. It knows neither HTTP nor SQL; opaque values are stored only as
// keyed hashes.
package session

import (
	"errors"
	"time"
)

// Errors of the repository, wrapped with detail.
var (
	ErrNotFound = errors.New("not found")
	// ErrUsed: a single-use value (code, refresh token) was already used.
	ErrUsed = errors.New("already used")
	// ErrRevoked: the grant the value belongs to was revoked.
	ErrRevoked = errors.New("revoked")
	// ErrExpired: the value is past its lifetime.
	ErrExpired = errors.New("expired")
)

// BrowserSession is a sign-in in a browser: the cookie that gives single
// sign-on to later authorize requests.
type BrowserSession struct {
	TenantID string
	// ID is the session's public id (grants link to it); the cookie
	// carries a separate secret value stored only as IDHash.
	ID        string
	IDHash    []byte
	UserID    string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while active
}

// Grant is one sign-in of a user to one client: everything issued from it
// (codes, refresh tokens, access tokens through their sid claim) lives and
// dies with it. Revoking a grant puts its id on the revocation feed.
type Grant struct {
	TenantID string
	ID       string // the sid of every access token issued from it
	UserID   string
	ClientID string
	// BrowserSessionID links a grant made in a browser to the session
	// whose logout ends it ("" for device code, password, product login).
	BrowserSessionID string
	// Scopes are every scope the user granted: OIDC scopes and full
	// resource scopes (api://x/read). A refresh token may be redeemed for
	// any resource among them.
	Scopes    []string
	AuthTime  time.Time
	CreatedAt time.Time
	// ExpiresAt is absolute: no refresh token of the grant outlives it.
	ExpiresAt time.Time
	RevokedAt time.Time
	// Channel is how the grant was made: ChannelProductLogin, or "" for
	// the OAuth grants (authorization code, device code, password) and
	// every grant made before channels were recorded.
	Channel string
}

// ChannelProductLogin marks a grant made by the product-login API, the only
// grants its logout ends: its tokens, `az login`'s and `tessera login`'s
// all name the CLI's client, so the token cannot tell them apart.
const ChannelProductLogin = "product_login"

// Code is an authorization code (RFC 6749 §4.1.2), stored by hash.
type Code struct {
	TenantID            string
	Hash                []byte
	GrantID             string
	ClientID            string
	RedirectURI         string
	Scopes              []string // as requested and consented
	Resource            string   // the v1 resource parameter, if any
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	RedeemedAt          time.Time
}

// RefreshToken is one link of a grant's rotation chain, stored by hash.
type RefreshToken struct {
	TenantID  string
	Hash      []byte
	GrantID   string
	ClientID  string
	CreatedAt time.Time
	// ExpiresAt is the end of the inactivity window (capped by the
	// grant's absolute expiry).
	ExpiresAt time.Time
	UsedAt    time.Time
	// SuccessorHash is the hash of the token that replaced this one;
	// SuccessorSealed the sealed response that carried it, kept only for
	// the grace window so a retry gets the very same pair.
	SuccessorHash   []byte
	SuccessorSealed []byte
	// AccessTokens are the latest access token the chain has issued for
	// each audience, up to and with the one issued together with this
	// refresh token. AccessTokenExpiresAt is the latest expiry of the
	// access tokens the chain has issued up to and with this one: the
	// RevokeSuperseded entry the next rotation writes lasts until then, so
	// that it outlives every token it refuses even when the lifetime of a
	// resource's tokens was shortened in between.
	AccessTokens         IssuedTokens
	AccessTokenExpiresAt time.Time
	// Generation is the token's place in its grant's rotation chain: 0 for
	// the first, its predecessor's plus one after. It orders the chain's
	// RevokeSuperseded entries (see Revocation.Generation).
	Generation int64
}

// Device code states.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceRedeemed = "redeemed"
)

// DeviceCode is a device authorization (RFC 8628 §3.2), stored by the
// hashes of its device code and of its normalized user code.
type DeviceCode struct {
	TenantID     string
	Hash         []byte // of the device_code
	UserCodeHash []byte // of the normalized user_code
	ClientID     string
	Scopes       []string
	Resource     string
	Interval     time.Duration
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastPolledAt time.Time
	Status       string
	// Set at approval: the user and the grant made for the device.
	UserID  string
	GrantID string
}

// PurgeBefore are the cut-offs of Repository.Purge.
type PurgeBefore struct {
	// Expired: device codes, revocation feed entries and address
	// failure counts that expired before it go. Housekeeping sets it a
	// device code's lifetime in the past: a device still polling just
	// after its code expired is answered expired_token (RFC 8628 §3.5),
	// not invalid_grant, and the rows a flood leaves stay bounded by the
	// pending cap. The feed lists no expired entry and a count whose
	// window and ban ended counts nothing, so the margin changes no
	// answer of theirs.
	Expired time.Time
	// Answered: codes and refresh tokens that expired before it go, then
	// the grants and browser sessions that expired before it and that
	// nothing refers to any more. They stay a margin past expiry, so that
	// one presented late is answered "expired" rather than unknown.
	Answered time.Time
}

// Revocation kinds.
const (
	// RevokeGrant: every token whose sid is Value.
	RevokeGrant = "sid"
	// RevokeSubject: every token of the user (oid) Value issued at or
	// before RevokedAt.
	RevokeSubject = "oid"
	// RevokeClient: every token issued to the client (azp/appid) Value at
	// or before RevokedAt.
	RevokeClient = "client"
	// RevokeToken: the one token whose jti is Value.
	RevokeToken = "jti"
	// RevokeSuperseded: the tokens of the grant (sid) Value for the
	// audience Audience issued before RevokedAt (the second of the
	// refresh's new token), and the one whose jti is Prior (the token the
	// refresh replaced) whenever issued: what a refresh for that audience
	// retired. The tenant's
	// feed holds at most one such entry per grant and audience; a later
	// one takes its place (and a new Seq), so the feed grows with the
	// sign-ins, not with their refreshes.
	RevokeSuperseded = "superseded"
)

// Revocation is an entry of a tenant's revocation feed.
type Revocation struct {
	TenantID string `json:"-"`
	// Seq orders the feed; the store assigns it, increasing.
	Seq       int64     `json:"seq"`
	Kind      string    `json:"kind"`
	Value     string    `json:"value"`
	RevokedAt time.Time `json:"revokedAt"`
	// ExpiresAt: no token the entry concerns is valid after it anyway, so
	// the feed drops the entry then.
	ExpiresAt time.Time `json:"expiresAt"`
	// Audience and Prior belong to RevokeSuperseded entries: the aud the
	// refused tokens carry, exactly (a v1 token's identifier URI, a v2
	// token's appId), and the jti of the token of Audience the rotation
	// replaced: the chain's latest for it (RefreshToken.AccessTokens), ""
	// when the chain had issued none.
	Audience string `json:"aud,omitempty"`
	Prior    string `json:"prior,omitempty"`
	// Generation orders the RevokeSuperseded entries of one grant and
	// audience: the Generation of the refresh token whose rotation wrote
	// it. An entry replaces the stored one only if it is of a later
	// generation, so that two appends arriving out of order (a retry
	// within the grace window lets the next rotation start before the
	// previous one's append is done) leave the later one.
	Generation int64 `json:"-"`
}
