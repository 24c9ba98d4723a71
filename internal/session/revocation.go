package session

import (
	"context"
	"strings"
	"time"
)

// AccessToken is what deciding whether the feed refuses an access token
// needs to know of it: the claims that feed entries name. The token's
// signature, issuer and lifetime are checked before; this is only about
// revocation.
type AccessToken struct {
	SessionID string // sid: the grant; "" in app-only tokens
	JTI, UTI  string // the token's ids (tessera's carry both, equal)
	ObjectID  string // oid: the user or service principal
	ClientID  string // azp (v2) or appid (v1)
	Audience  string // aud, as the token carries it
	// IssuedAt is iat (whole seconds); zero if the token has none, and
	// then it cannot show that it was issued after any revocation.
	IssuedAt time.Time
}

// Refuses reports whether the feed entry e refuses the token t. Entries
// by user or client refuse the tokens issued at or before e.RevokedAt;
// iat has whole seconds, so a token of the same second counts as before.
// A superseding refresh's entry refuses the tokens issued before its new
// token's second, and the one token it replaced by its id. It is the rule
// the guard applies to the same entries (guard/revocationindex.go); the
// two must agree.
func Refuses(e Revocation, t AccessToken) bool {
	issuedBefore := t.IssuedAt.IsZero() || !t.IssuedAt.After(e.RevokedAt)
	switch e.Kind {
	case RevokeGrant:
		return t.SessionID != "" && e.Value == t.SessionID
	case RevokeToken:
		return e.Value != "" && (e.Value == t.JTI || e.Value == t.UTI)
	case RevokeSubject:
		return t.ObjectID != "" && e.Value == t.ObjectID && issuedBefore
	case RevokeClient:
		return t.ClientID != "" && strings.EqualFold(e.Value, t.ClientID) && issuedBefore
	case RevokeSuperseded:
		// A refresh replaces the access token it supersedes, of the same
		// grant (so the same client) and the same resource, and no
		// other: a token for another API the same sign-in holds is left
		// alone (Azure CLI and MSAL keep serving it from their caches).
		// The new token's second (RevokedAt) is not refused: the new
		// token itself carries it, and so may a token of a later refresh
		// that a guard has not heard of yet. The token the refresh
		// replaced, perhaps of that same second, is refused by its id;
		// older ones by their earlier second (in the rare case of three
		// refreshes for one API within a second, the oldest of the three
		// lives on until it expires: a refresh never refuses the token it
		// hands out).
		older := t.IssuedAt.IsZero() || t.IssuedAt.Before(e.RevokedAt)
		replaced := e.Prior != "" && (e.Prior == t.JTI || e.Prior == t.UTI)
		return t.SessionID != "" && e.Value == t.SessionID && e.Audience == t.Audience && (older || replaced)
	}
	return false
}

// RevokedBy returns the first of entries that refuses t, if any.
func RevokedBy(entries []Revocation, t AccessToken) (Revocation, bool) {
	for _, e := range entries {
		if Refuses(e, t) {
			return e, true
		}
	}
	return Revocation{}, false
}

// lookupValues are the values an entry that could refuse t has: its sid
// (RevokeGrant, RevokeSuperseded), ids, oid and client. The client's is
// also given in lower case, the form the directory keeps app ids in.
func (t AccessToken) lookupValues() []string {
	var out []string
	add := func(v string) {
		for _, have := range out {
			if have == v {
				return
			}
		}
		if v != "" {
			out = append(out, v)
		}
	}
	add(t.SessionID)
	add(t.JTI)
	add(t.UTI)
	add(t.ObjectID)
	add(t.ClientID)
	add(strings.ToLower(t.ClientID))
	return out
}

// AccessTokenRevoked reports whether the tenant's revocation feed refuses
// an access token. It reads only the entries that name one of the token's
// values, found by index (Repository.LookupRevocations), so that its cost
// does not grow with the feed; the grant itself (sid) is the caller's to
// check (ActiveGrant).
func (s *Service) AccessTokenRevoked(ctx context.Context, tenantID string, t AccessToken) (bool, error) {
	values := t.lookupValues()
	if len(values) == 0 {
		return false, nil
	}
	entries, err := s.repo.LookupRevocations(ctx, tenantID, values, s.clock())
	if err != nil {
		return false, err
	}
	_, revoked := RevokedBy(entries, t)
	return revoked, nil
}
