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

// Token is an access token and when it stops working.
type Token struct {
	AccessToken string
	TokenType   string // "Bearer"
	ExpiresOn   time.Time
}

// cacheEntry is a token on disk. Expiry is epoch seconds, as in Entra's
// expires_on, so the file means the same in every time zone.
type cacheEntry struct {
	Authority   string `json:"authority"`
	TenantID    string `json:"tenantId"`
	ClientID    string `json:"clientId"`
	Target      string `json:"target"`
	AccessToken string `json:"accessToken"`
	TokenType   string `json:"tokenType"`
	ExpiresOn   int64  `json:"expiresOn"`
}

type tokensDoc struct {
	Version int                   `json:"version"`
	Tokens  map[string]cacheEntry `json:"tokens"`
}

// cacheKey names one token: authority, tenant id, client id and what the
// token is for. Everything but the target is case-insensitive at Entra.
func cacheKey(p Profile, t Target) string {
	return p.Key() + "|" + t.String()
}

// loadTokens reads the cache. The cache can always be rebuilt, so a file
// that does not parse is treated as empty and overwritten by the next write
// instead of stopping the user.
func (s *Store) loadTokens() (map[string]cacheEntry, error) {
	var doc tokensDoc
	if _, err := s.readJSON(tokensFile, &doc); err != nil && !errors.Is(err, errCorrupt) {
		return nil, err
	}
	if doc.Tokens == nil {
		doc.Tokens = map[string]cacheEntry{}
	}
	return doc.Tokens, nil
}

// CachedToken returns the token cached for p and t if it has more than
// MinRemaining left at now. It takes no lock: whole-file renames mean a
// reader never sees a half-written cache.
func (s *Store) CachedToken(p Profile, t Target, now time.Time) (Token, bool, error) {
	toks, err := s.loadTokens()
	if err != nil {
		return Token{}, false, err
	}
	e, ok := toks[cacheKey(p, t)]
	if !ok {
		return Token{}, false, nil
	}
	tok := Token{AccessToken: e.AccessToken, TokenType: e.TokenType, ExpiresOn: time.Unix(e.ExpiresOn, 0)}
	if tok.ExpiresOn.Sub(now) <= MinRemaining {
		return Token{}, false, nil
	}
	return tok, true, nil
}

// PutToken caches tok for p and t, and drops tokens that expired before now
// so the file does not grow without bound.
func (s *Store) PutToken(p Profile, t Target, tok Token, now time.Time) error {
	if tok.AccessToken == "" {
		return fmt.Errorf("account: refusing to cache an empty token")
	}
	return s.update(func() error {
		toks, err := s.loadTokens()
		if err != nil {
			return err
		}
		for k, e := range toks {
			if !time.Unix(e.ExpiresOn, 0).After(now) {
				delete(toks, k)
			}
		}
		toks[cacheKey(p, t)] = cacheEntry{
			Authority:   p.Authority,
			TenantID:    p.TenantID,
			ClientID:    p.ClientID,
			Target:      t.String(),
			AccessToken: tok.AccessToken,
			TokenType:   tok.TokenType,
			ExpiresOn:   tok.ExpiresOn.Unix(),
		}
		return s.writeJSON(tokensFile, tokensDoc{Version: 1, Tokens: toks})
	})
}

// dropTokens removes every token issued to p's client at p's authority, in
// any tenant: `get-access-token --tenant` may have used the profile's
// credentials in another tenant, and logout must leave none of them behind.
// The caller holds the lock.
func (s *Store) dropTokens(p Profile) error {
	toks, err := s.loadTokens()
	if err != nil {
		return err
	}
	n := len(toks)
	for k, e := range toks {
		if strings.EqualFold(e.Authority, p.Authority) && strings.EqualFold(e.ClientID, p.ClientID) {
			delete(toks, k)
		}
	}
	if len(toks) == n {
		return nil
	}
	return s.writeJSON(tokensFile, tokensDoc{Version: 1, Tokens: toks})
}
