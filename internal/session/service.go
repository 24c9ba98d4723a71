package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/secrets"
)

// Prefixes of the opaque values, so that secret scanners recognise a
// leaked one and a value presented in the wrong place is refused at once.
const (
	CodePrefix           = "tac_"
	RefreshTokenPrefix   = "trt_"
	DeviceCodePrefix     = "tdc_"
	BrowserSessionPrefix = "tbs_"
)

// feedSkew keeps a revoked token on the feed past its exp for the clock
// skew resource servers allow, so none accepts it in that margin.
const feedSkew = 5 * time.Minute

// MaxCodeLifetime is the longest an authorization code lives (RFC 6749
// §4.1.2 recommends at most 10 minutes).
const MaxCodeLifetime = 10 * time.Minute

// Hasher keys the hash under which opaque values are stored.
type Hasher interface {
	HashToken(token string) []byte
}

// Sealer encrypts a refresh response kept for the grace window.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Service runs the rules of sessions over a Repository.
type Service struct {
	repo             Repository
	hash             Hasher
	seal             Sealer
	now              func() time.Time
	rand             io.Reader
	feedTT           time.Duration
	audit            *audit.Recorder
	devicePendingMax int
}

// Options configure a Service.
type Options struct {
	// Now is the clock (time.Now if nil): tools and tests that act as of
	// another time (housekeeping once codes have expired) build a Service
	// with their own.
	Now func() time.Time
	// Rand is the source of the opaque values, user codes and ids
	// (crypto/rand if nil).
	Rand io.Reader
	// FeedRetention is how long a revocation stays on the feed: at least
	// the longest access-token lifetime plus clock skew, after which every
	// token it concerns has expired anyway.
	FeedRetention time.Duration
	// Audit records revocations; nil records nothing. Through its queue,
	// not synchronously: logouts and revocations are caused by clients
	// and users at their own rate.
	Audit *audit.Recorder
	// DevicePendingMax caps the device authorizations one client may have
	// pending in a tenant at once; 0 means DefaultDevicePendingMax.
	DevicePendingMax int
}

// NewService returns a Service.
func NewService(repo Repository, h Hasher, s Sealer, opts Options) *Service {
	svc := &Service{repo: repo, hash: h, seal: s, now: opts.Now, rand: opts.Rand, feedTT: opts.FeedRetention, audit: opts.Audit,
		devicePendingMax: opts.DevicePendingMax}
	if svc.now == nil {
		svc.now = time.Now
	}
	if svc.rand == nil {
		svc.rand = rand.Reader
	}
	if svc.feedTT == 0 {
		svc.feedTT = 24*time.Hour + 10*time.Minute
	}
	if svc.devicePendingMax <= 0 {
		svc.devicePendingMax = DefaultDevicePendingMax
	}
	return svc
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// read fills b from the random source. A source that fails leaves the
// server unable to make a secret: it stops rather than make a weak one.
func (s *Service) read(b []byte) {
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic(err)
	}
}

// newID returns a random (version 4) UUID from the random source.
func (s *Service) newID() string {
	id, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		panic(err)
	}
	return id.String()
}

// opaque returns a new opaque value and its hash: prefix, the tenant id
// (32 hex digits), a dot, and 256 bits of entropy. The tenant in the value
// lets the multi-tenant endpoints (/organizations/, /common/) find the
// tenant of a code or refresh token, as Entra's do; it is not trusted: the
// value is looked up by its hash within that tenant.
func (s *Service) opaque(prefix, tenantID string) (string, []byte) {
	var b [32]byte
	s.read(b[:])
	v := prefix + strings.ReplaceAll(tenantID, "-", "") + "." + base64.RawURLEncoding.EncodeToString(b[:])
	return v, s.hash.HashToken(v)
}

// TenantOf returns the tenant id an opaque value (code, refresh token,
// device code) names, for requests to a multi-tenant endpoint.
func TenantOf(v string) (string, bool) {
	i := strings.IndexByte(v, '_')
	j := strings.IndexByte(v, '.')
	if i < 0 || j != i+33 {
		return "", false
	}
	h := strings.ToLower(v[i+1 : j])
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
}

func (s *Service) feedExpiry(now time.Time) time.Time { return now.Add(s.feedTT) }

// StartBrowserSession records a sign-in in a browser and returns the
// cookie value that stands for it.
func (s *Service) StartBrowserSession(ctx context.Context, tenantID, userID string, authTime time.Time, lifetime time.Duration) (string, BrowserSession, error) {
	v, h := s.opaque(BrowserSessionPrefix, tenantID)
	now := s.clock()
	bs := BrowserSession{TenantID: tenantID, ID: s.newID(), IDHash: h, UserID: userID, AuthTime: authTime.UTC().Truncate(time.Microsecond),
		CreatedAt: now, ExpiresAt: now.Add(lifetime)}
	if err := s.repo.CreateBrowserSession(ctx, tenantID, bs); err != nil {
		return "", BrowserSession{}, err
	}
	return v, bs, nil
}

// BrowserSession returns the active session a cookie value stands for.
func (s *Service) BrowserSession(ctx context.Context, tenantID, cookie string) (BrowserSession, error) {
	if !strings.HasPrefix(cookie, BrowserSessionPrefix) {
		return BrowserSession{}, ErrNotFound
	}
	bs, err := s.repo.GetBrowserSession(ctx, tenantID, s.hash.HashToken(cookie))
	if err != nil {
		return BrowserSession{}, err
	}
	if !bs.RevokedAt.IsZero() {
		return BrowserSession{}, ErrRevoked
	}
	if !s.clock().Before(bs.ExpiresAt) {
		return BrowserSession{}, ErrExpired
	}
	return bs, nil
}

// EndBrowserSession signs a browser out: the session and every grant made
// in it are revoked, and the grants go on the revocation feed.
func (s *Service) EndBrowserSession(ctx context.Context, tenantID, cookie string) ([]string, error) {
	if !strings.HasPrefix(cookie, BrowserSessionPrefix) {
		return nil, ErrNotFound
	}
	now := s.clock()
	grants, err := s.repo.RevokeBrowserSession(ctx, tenantID, s.hash.HashToken(cookie), now, s.feedExpiry(now))
	if err == nil {
		s.recordRevocation(tenantID, audit.RevokeLogout, "", strings.Join(grants, ","))
	}
	return grants, err
}

// recordRevocation records a revocation of kind by actor (when known) of
// target: grant ids, a user's object id, a client id, a token id's hash.
func (s *Service) recordRevocation(tenantID, kind, actor, target string) {
	s.audit.Record(audit.Event{TenantID: tenantID, Kind: kind, Actor: actor, Target: target, Outcome: audit.Success})
}

// tokenIDHash is what the audit log keeps of an access token's id: enough
// to match a revocation with a token the operator holds, no more.
func tokenIDHash(jti string) string {
	sum := sha256.Sum256([]byte(jti))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// GrantSpec describes a new grant.
type GrantSpec struct {
	UserID, ClientID, BrowserSessionID string
	Scopes                             []string
	AuthTime                           time.Time
	Lifetime                           time.Duration // absolute
	Channel                            string        // Grant.Channel
}

// NewGrant records a sign-in of a user to a client.
func (s *Service) NewGrant(ctx context.Context, tenantID string, g GrantSpec) (Grant, error) {
	now := s.clock()
	gr := Grant{TenantID: tenantID, ID: s.newID(), UserID: g.UserID, ClientID: g.ClientID, BrowserSessionID: g.BrowserSessionID,
		Scopes: g.Scopes, AuthTime: g.AuthTime.UTC().Truncate(time.Microsecond), CreatedAt: now, ExpiresAt: now.Add(g.Lifetime),
		Channel: g.Channel}
	if gr.Scopes == nil {
		gr.Scopes = []string{}
	}
	if err := s.repo.CreateGrant(ctx, tenantID, gr); err != nil {
		return Grant{}, err
	}
	return gr, nil
}

// ActiveGrant returns a grant if it is neither revoked nor expired.
func (s *Service) ActiveGrant(ctx context.Context, tenantID, id string) (Grant, error) {
	g, err := s.repo.GetGrant(ctx, tenantID, id)
	if err != nil {
		return Grant{}, err
	}
	if !g.RevokedAt.IsZero() {
		return g, ErrRevoked
	}
	if !s.clock().Before(g.ExpiresAt) {
		return g, ErrExpired
	}
	return g, nil
}

// RevokeGrant revokes a grant with everything issued from it.
func (s *Service) RevokeGrant(ctx context.Context, tenantID, id string) error {
	return s.revokeGrant(ctx, tenantID, id, audit.RevokeGrant, "")
}

func (s *Service) revokeGrant(ctx context.Context, tenantID, id, kind, actor string) error {
	now := s.clock()
	err := s.repo.RevokeGrant(ctx, tenantID, id, now, s.feedExpiry(now))
	if err == nil {
		s.recordRevocation(tenantID, kind, actor, id)
	}
	return err
}

// RevokeUser implements directory.Revoker.
func (s *Service) RevokeUser(ctx context.Context, tenantID, userID string) error {
	now := s.clock()
	err := s.repo.RevokeGrantsOf(ctx, tenantID, userID, "", now, s.feedExpiry(now))
	if err == nil {
		s.recordRevocation(tenantID, audit.RevokeUser, "", userID)
	}
	return err
}

// RevokeClient implements directory.Revoker.
func (s *Service) RevokeClient(ctx context.Context, tenantID, clientID string) error {
	now := s.clock()
	err := s.repo.RevokeGrantsOf(ctx, tenantID, "", clientID, now, s.feedExpiry(now))
	if err == nil {
		s.recordRevocation(tenantID, audit.RevokeClient, "", clientID)
	}
	return err
}

// RevokeToken puts one access token (by jti) on the feed until it expires.
func (s *Service) RevokeToken(ctx context.Context, tenantID, jti string, expiresAt time.Time) error {
	err := s.repo.AppendRevocation(ctx, tenantID, Revocation{TenantID: tenantID, Kind: RevokeToken, Value: jti, RevokedAt: s.clock(), ExpiresAt: expiresAt})
	if err == nil {
		s.recordRevocation(tenantID, audit.RevokeToken, "", tokenIDHash(jti))
	}
	return err
}

// IssueCode stores an authorization code and returns it. c.Hash,
// CreatedAt and ExpiresAt are set here.
func (s *Service) IssueCode(ctx context.Context, tenantID string, c Code, lifetime time.Duration) (string, error) {
	if lifetime <= 0 || lifetime > MaxCodeLifetime {
		lifetime = MaxCodeLifetime
	}
	v, h := s.opaque(CodePrefix, tenantID)
	now := s.clock()
	c.TenantID, c.Hash, c.CreatedAt, c.ExpiresAt = tenantID, h, now, now.Add(lifetime)
	if err := s.repo.CreateCode(ctx, tenantID, c); err != nil {
		return "", err
	}
	return v, nil
}

// LookupCode reads an authorization code without spending it, so that a
// request that fails the client, redirect URI or PKCE checks changes
// nothing.
func (s *Service) LookupCode(ctx context.Context, tenantID, code string) (Code, error) {
	if !strings.HasPrefix(code, CodePrefix) {
		return Code{}, ErrNotFound
	}
	return s.repo.GetCode(ctx, tenantID, s.hash.HashToken(code))
}

// RedeemCode redeems an authorization code once (DecideRedemption). A
// second redemption revokes the grant, and so every token issued from the
// code (RFC 6749 §4.1.2, RFC 9700 §4.5), and fails with ErrUsed.
func (s *Service) RedeemCode(ctx context.Context, tenantID, code string) (Code, Grant, error) {
	if !strings.HasPrefix(code, CodePrefix) {
		return Code{}, Grant{}, ErrNotFound
	}
	now := s.clock()
	outcome, c, g, err := Redeem(ctx, s.repo, tenantID, s.hash.HashToken(code), now, s.feedExpiry(now))
	if err != nil {
		return Code{}, Grant{}, err
	}
	switch outcome {
	case RedeemFirst:
		return c, g, nil
	case RedeemReplay:
		s.recordRevocation(tenantID, audit.RevokeCodeReplayed, c.ClientID, c.GrantID)
		return c, Grant{}, fmt.Errorf("code: %w", ErrUsed)
	case RedeemRevoked:
		return Code{}, Grant{}, fmt.Errorf("grant %s: %w", g.ID, ErrRevoked)
	}
	return Code{}, Grant{}, fmt.Errorf("code: %w", ErrExpired)
}

// IssueRefreshToken starts a grant's rotation chain. accessToken and
// accessTokenExpiry name the access token issued with it, which the first
// rotation for its audience replaces (its jti empty: none).
func (s *Service) IssueRefreshToken(ctx context.Context, tenantID string, g Grant, inactivity time.Duration, accessToken IssuedToken, accessTokenExpiry time.Time) (string, error) {
	v, h := s.opaque(RefreshTokenPrefix, tenantID)
	now := s.clock()
	t := RefreshToken{TenantID: tenantID, Hash: h, GrantID: g.ID, ClientID: g.ClientID, CreatedAt: now, ExpiresAt: minTime(now.Add(inactivity), g.ExpiresAt),
		AccessTokenExpiresAt: accessTokenExpiry}
	if accessToken.ID != "" {
		t.AccessTokens = IssuedTokens{accessToken}
	}
	if err := s.repo.CreateRefreshToken(ctx, tenantID, t); err != nil {
		return "", err
	}
	return v, nil
}

// ErrWrongClient: a refresh token presented by another client than the one
// it was issued to (RFC 6749 §6, §10.4).
var ErrWrongClient = errors.New("refresh token was issued to another client")

// ErrReuse: an already-rotated refresh token was presented outside the
// grace window; its grant has been revoked (RFC 9700 §4.14.2).
var ErrReuse = errors.New("refresh token reused: grant revoked")

// Minted is what a Minter made: the response the client receives, byte for
// byte (also on an idempotent retry), and the access token in it.
type Minted struct {
	Response             []byte
	AccessTokenID        string // its jti
	AccessTokenExpiresAt time.Time
	// AccessTokenAudience and AccessTokenIssuedAt are the token's aud and
	// iat, exactly as it carries them: the feed entry that retires the
	// tokens it replaces names them.
	AccessTokenAudience string
	AccessTokenIssuedAt time.Time
}

// Minter builds the response of a successful refresh for the grant and the
// new refresh token.
type Minter func(g Grant, newRefreshToken string) (Minted, error)

// Refresh rotates a refresh token: it decides the presentation
// (DecideRotation), builds the successor's response with mint only when
// the decision is to rotate, and records the rotation with the store's
// compare-and-swap (Rotate). A retry of the same token by the same client
// within grace gets the very same response; a reuse outside it revokes the
// grant.
func (s *Service) Refresh(ctx context.Context, tenantID, presented, clientID string, inactivity, grace time.Duration, mint Minter) ([]byte, Grant, error) {
	if !strings.HasPrefix(presented, RefreshTokenPrefix) {
		return nil, Grant{}, ErrNotFound
	}
	h := s.hash.HashToken(presented)
	now := s.clock()
	var resp []byte
	outcome, cur, g, err := Rotate(ctx, s.repo, RotateRequest{TenantID: tenantID, Presented: h, ClientID: clientID, Now: now,
		Grace: grace, FeedExpiry: s.feedExpiry(now),
		Next: func(cur RefreshToken, g Grant) (Successor, error) {
			next, r, err := s.successor(tenantID, h, cur, g, now, inactivity, mint)
			resp = r
			return next, err
		}})
	if err != nil {
		return nil, Grant{}, err
	}
	switch outcome {
	case RotateFresh:
		return resp, g, nil
	case RotateRetry:
		replay, err := s.seal.Open(cur.SuccessorSealed, SealedResponseAAD(tenantID, h))
		if err != nil {
			return nil, Grant{}, err
		}
		return replay, g, nil
	case RotateReuse, RotateRetryForgotten:
		// A rotated token came back after the grace window (RFC 9700
		// §4.14.2): Rotate revoked the grant.
		s.recordRevocation(tenantID, audit.RevokeReuse, clientID, g.ID)
	}
	return nil, Grant{}, rotationError(outcome, g)
}

// successor mints the response of a rotation of cur and returns the
// successor to store with it, and the response.
func (s *Service) successor(tenantID string, h []byte, cur RefreshToken, g Grant, now time.Time, inactivity time.Duration, mint Minter) (Successor, []byte, error) {
	v, nh := s.opaque(RefreshTokenPrefix, tenantID)
	next := RefreshToken{TenantID: tenantID, Hash: nh, GrantID: g.ID, ClientID: g.ClientID, CreatedAt: now, ExpiresAt: minTime(now.Add(inactivity), g.ExpiresAt),
		Generation: cur.Generation + 1}
	m, err := mint(g, v)
	if err != nil {
		return Successor{}, nil, err
	}
	next.AccessTokens = cur.AccessTokens.With(m.AccessTokenAudience, m.AccessTokenID)
	next.AccessTokenExpiresAt = maxTime(m.AccessTokenExpiresAt, cur.AccessTokenExpiresAt)
	// Sealed before the commit, so that a retry within the grace window
	// is answered with this very response.
	sealed, err := s.seal.Seal(m.Response, SealedResponseAAD(tenantID, h))
	if err != nil {
		return Successor{}, nil, err
	}
	out := Successor{Token: next, Sealed: sealed}
	if m.AccessTokenID != "" {
		out.Superseded = superseded(tenantID, g, cur, next, m)
	}
	return out, m.Response, nil
}

// RefreshTokenGrant returns the grant a refresh token belongs to, for
// revocation (RFC 7009) and introspection (RFC 7662); the token must have
// been issued to clientID.
func (s *Service) RefreshTokenGrant(ctx context.Context, tenantID, token, clientID string) (RefreshToken, Grant, error) {
	if !strings.HasPrefix(token, RefreshTokenPrefix) {
		return RefreshToken{}, Grant{}, ErrNotFound
	}
	t, g, err := s.repo.GetRefreshToken(ctx, tenantID, s.hash.HashToken(token))
	if err != nil {
		return RefreshToken{}, Grant{}, err
	}
	if clientID != "" && !strings.EqualFold(t.ClientID, clientID) {
		return RefreshToken{}, Grant{}, ErrWrongClient
	}
	return t, g, nil
}

// Feed returns revocations after the cursor.
func (s *Service) Feed(ctx context.Context, tenantID string, after int64, limit int) ([]Revocation, error) {
	return s.repo.ListRevocations(ctx, tenantID, after, s.clock(), limit)
}

// Housekeeping drops sealed refresh responses past the longest grace
// window, so no usable token stays recoverable from the database, and
// purges expired state: device codes, feed entries and address failure
// counts one device-code lifetime after they expired (so a late poll is
// still told expired_token), codes and refresh tokens a day after they
// expired (the day keeps recent expiries answering
// "expired" rather than "unknown"), and what nothing refers to any more.
// It purges in batches until the backlog as of its start is gone, each
// batch a short transaction, so that a backlog (a flood of device
// authorizations) goes in one run without holding the database's writer
// for long. It returns the number of rows purged.
func (s *Service) Housekeeping(ctx context.Context, maxGrace time.Duration) (int64, error) {
	now := s.clock()
	if err := s.repo.ForgetSealed(ctx, now.Add(-maxGrace)); err != nil {
		return 0, err
	}
	cut := PurgeBefore{Expired: now.Add(-DeviceCodeLifetime), Answered: now.Add(-answerExpiredFor)}
	var total int64
	for {
		n, err := s.repo.Purge(ctx, cut, purgeBatch)
		total += n
		// Fewer than a batch: every kind came up short, so nothing that
		// expired before the cut-offs is left (a grant freed by this
		// round's deletions goes in the next run).
		if err != nil || n < purgeBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// answerExpiredFor is how long codes and refresh tokens are kept past
// their expiry (PurgeBefore.Answered).
const answerExpiredFor = 24 * time.Hour

// purgeBatch is the most rows of each kind one Purge deletes.
const purgeBatch = 1000

// superseded is the feed entry of a rotation: the new access token m
// replaces every earlier one of the grant for the same audience (RFC 9700
// §4.14.2 retires the rotated refresh token; its access token goes with it,
// and so do older ones of that resource still cached by the client), and
// none for another audience. It names the chain's latest token for the
// audience before this rotation (the one it replaces, whichever API the
// refresh tokens in between were redeemed for) as Prior, so that one is
// refused even when it carries the new token's second, and it never
// refuses the new token, even at a guard still holding an older entry of
// the grant. The entry
// lasts until the latest expiry of any token the chain has issued, plus
// the skew guards allow, and takes the place of the entry the previous
// rotation for that audience wrote.
func superseded(tenantID string, g Grant, cur, next RefreshToken, m Minted) Revocation {
	return Revocation{TenantID: tenantID, Kind: RevokeSuperseded, Value: g.ID, Audience: m.AccessTokenAudience, Prior: cur.AccessTokens.Latest(m.AccessTokenAudience),
		RevokedAt: m.AccessTokenIssuedAt.UTC(), ExpiresAt: next.AccessTokenExpiresAt.Add(feedSkew).UTC(), Generation: next.Generation}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// SealedResponseAAD binds the sealed successor response kept for the grace
// window to its place: the tenant and the row of the refresh token it
// answers (by the token's keyed hash).
func SealedResponseAAD(tenantID string, hash []byte) []byte {
	return secrets.AAD(tenantID, "refresh_tokens", "successor_sealed", hex.EncodeToString(hash))
}
