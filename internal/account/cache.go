package account

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MinRemaining is how long a cached token must still be valid to be served.
// Five minutes is az's (MSAL's) margin: a token handed to a script must
// outlive the script's first requests, and the guard on the far side
// allows only a little clock skew.
const MinRemaining = 5 * time.Minute

// Target is what a token is for: v2 scopes or a v1 resource. Exactly one is
// set; which one decides the token endpoint, as it does at Entra.
type Target struct {
	Scope    string // v2: space-separated scopes, e.g. "api://orders/.default"
	Resource string // v1: a resource URI, e.g. "api://orders"
}

// V1 reports whether the token comes from the v1 endpoint (resource=).
func (t Target) V1() bool { return t.Resource != "" }

// Validate checks that exactly one of Scope and Resource is set.
func (t Target) Validate() error {
	if (strings.TrimSpace(t.Scope) == "") == (strings.TrimSpace(t.Resource) == "") {
		return errors.New("give exactly one of a scope and a resource")
	}
	return nil
}

func (t Target) String() string {
	if t.V1() {
		return "resource:" + strings.TrimSpace(t.Resource)
	}
	return "scope:" + strings.Join(strings.Fields(t.Scope), " ")
}

// consentScope is the scope a sign-in asks for to get consent for t: the
// scopes themselves, or the v1 resource's .default.
func (t Target) consentScope() string {
	if t.V1() {
		return strings.TrimRight(strings.TrimSpace(t.Resource), "/") + "/.default"
	}
	return strings.Join(strings.Fields(t.Scope), " ")
}

// Token is an access token and when it stops working.
type Token struct {
	AccessToken string
	TokenType   string // "Bearer"
	ExpiresOn   time.Time
}

// cacheEntry is a token on disk. Expiry is epoch seconds, as in Entra's
// expires_on, so the file means the same in every time zone.
type cacheEntry struct {
	Authority     string `json:"authority"`
	TenantID      string `json:"tenantId"`
	ClientID      string `json:"clientId"`
	HomeAccountID string `json:"homeAccountId,omitempty"` // a user's; empty for a service principal
	Target        string `json:"target"`
	AccessToken   string `json:"accessToken"`
	TokenType     string `json:"tokenType"`
	ExpiresOn     int64  `json:"expiresOn"`
}

// refreshEntry is a user's refresh token. There is one per account (home
// account, client, authority), not per tenant or resource: like MSAL's,
// one refresh token redeems access tokens for any resource the user
// consented to, in any tenant the account may enter.
type refreshEntry struct {
	Authority     string `json:"authority"`
	ClientID      string `json:"clientId"`
	HomeAccountID string `json:"homeAccountId"`
	Username      string `json:"username,omitempty"`
	Secret        string `json:"secret"`
}

// tokensDoc is tokens.json. Version 1 had no refreshTokens; the field is
// additive, so the version stays.
type tokensDoc struct {
	Version       int                     `json:"version"`
	Tokens        map[string]cacheEntry   `json:"tokens"`
	RefreshTokens map[string]refreshEntry `json:"refreshTokens,omitempty"`
}

// cacheKey names one token: authority, tenant id, client id, for a user the
// account, and what the token is for. Everything but the target is
// case-insensitive at Entra.
func cacheKey(p Profile, t Target) string {
	return p.Key() + "|" + t.String()
}

// accountKey names a user's refresh token: the tenant is not part of it.
func accountKey(p Profile) string {
	return strings.ToLower(p.Authority + "|" + p.ClientID + "|" + p.HomeAccountID())
}

// loadTokensDoc reads the cache. The cache can always be rebuilt (at worst
// by logging in again), so a file that does not parse is treated as empty
// and overwritten by the next write instead of stopping the user.
func (s *Store) loadTokensDoc() (*tokensDoc, error) {
	var doc tokensDoc
	if _, err := s.readJSON(tokensFile, &doc); err != nil && !errors.Is(err, errCorrupt) {
		return nil, err
	}
	if doc.Tokens == nil {
		doc.Tokens = map[string]cacheEntry{}
	}
	if doc.RefreshTokens == nil {
		doc.RefreshTokens = map[string]refreshEntry{}
	}
	return &doc, nil
}

func (s *Store) saveTokensDoc(doc *tokensDoc) error {
	doc.Version = 1
	return s.writeJSON(tokensFile, doc)
}

// cached returns doc's token for p and t if it has more than MinRemaining
// left at now.
func (doc *tokensDoc) cached(p Profile, t Target, now time.Time) (Token, bool) {
	e, ok := doc.Tokens[cacheKey(p, t)]
	if !ok {
		return Token{}, false
	}
	tok := Token{AccessToken: e.AccessToken, TokenType: e.TokenType, ExpiresOn: time.Unix(e.ExpiresOn, 0)}
	if tok.ExpiresOn.Sub(now) <= MinRemaining {
		return Token{}, false
	}
	return tok, true
}

// put caches tok for p and t, and drops tokens that expired before now so
// the file does not grow without bound.
func (doc *tokensDoc) put(p Profile, t Target, tok Token, now time.Time) {
	for k, e := range doc.Tokens {
		if !time.Unix(e.ExpiresOn, 0).After(now) {
			delete(doc.Tokens, k)
		}
	}
	doc.Tokens[cacheKey(p, t)] = cacheEntry{
		Authority:     p.Authority,
		TenantID:      p.TenantID,
		ClientID:      p.ClientID,
		HomeAccountID: p.HomeAccountID(),
		Target:        t.String(),
		AccessToken:   tok.AccessToken,
		TokenType:     tok.TokenType,
		ExpiresOn:     tok.ExpiresOn.Unix(),
	}
}

// CachedToken returns the token cached for p and t if it has more than
// MinRemaining left at now. It takes no lock: whole-file renames mean a
// reader never sees a half-written cache.
func (s *Store) CachedToken(p Profile, t Target, now time.Time) (Token, bool, error) {
	doc, err := s.loadTokensDoc()
	if err != nil {
		return Token{}, false, err
	}
	tok, ok := doc.cached(p, t, now)
	return tok, ok, nil
}

// PutToken caches tok for p and t, and drops tokens that expired before now
// so the file does not grow without bound.
func (s *Store) PutToken(p Profile, t Target, tok Token, now time.Time) error {
	if tok.AccessToken == "" {
		return fmt.Errorf("account: refusing to cache an empty token")
	}
	return s.update(func() error {
		doc, err := s.loadTokensDoc()
		if err != nil {
			return err
		}
		doc.put(p, t, tok, now)
		return s.saveTokensDoc(doc)
	})
}

// dropAccountTokens removes from doc every token issued to p's client at
// p's authority for p's account (none for a service principal), in any
// tenant: `get-access-token --tenant` may have used the profile in another
// tenant, and logout must leave none of them behind. A user's refresh
// token goes too. It reports whether anything was removed.
func dropAccountTokens(doc *tokensDoc, p Profile) bool {
	n := len(doc.Tokens) + len(doc.RefreshTokens)
	for k, e := range doc.Tokens {
		if strings.EqualFold(e.Authority, p.Authority) && strings.EqualFold(e.ClientID, p.ClientID) &&
			strings.EqualFold(e.HomeAccountID, p.HomeAccountID()) {
			delete(doc.Tokens, k)
		}
	}
	if p.Type == User {
		delete(doc.RefreshTokens, accountKey(p))
	}
	return len(doc.Tokens)+len(doc.RefreshTokens) != n
}
