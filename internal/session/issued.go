package session

import (
	"encoding/json"
	"strings"
)

// maxIssuedAudiences bounds IssuedTokens: a sign-in's refresh token may be
// redeemed for any API the user consented to, and the chain remembers the
// latest access token of the most recent ones only. An audience dropped
// from it loses only the refusal by id of its replaced token (see
// Revocation.Prior); its earlier tokens are still refused by their second.
const maxIssuedAudiences = 16

// IssuedToken is an access token a rotation chain issued: its audience,
// exactly as its aud claim carries it, and its jti.
type IssuedToken struct {
	Audience string `json:"aud"`
	ID       string `json:"jti"`
}

// IssuedTokens are the latest access token a grant's rotation chain issued
// for each audience, most recent last. Each refresh token carries its
// chain's, so that the rotation which retires it knows which token of the
// new token's audience it replaces (Revocation.Prior), whichever API the
// refresh tokens in between were redeemed for.
type IssuedTokens []IssuedToken

// Latest is the jti of the chain's latest access token for aud, or "".
func (t IssuedTokens) Latest(aud string) string {
	for i := len(t) - 1; i >= 0; i-- {
		if t[i].Audience == aud {
			return t[i].ID
		}
	}
	return ""
}

// With returns the record with jti as aud's latest token, moved to the
// end, the oldest audiences dropped past maxIssuedAudiences. t itself is
// not changed.
func (t IssuedTokens) With(aud, jti string) IssuedTokens {
	out := make(IssuedTokens, 0, min(len(t)+1, maxIssuedAudiences))
	for _, it := range t {
		if it.Audience != aud {
			out = append(out, it)
		}
	}
	out = append(out, IssuedToken{Audience: aud, ID: jti})
	if n := len(out) - maxIssuedAudiences; n > 0 {
		out = out[n:]
	}
	return out
}

// String is the stored form: "" for none, else a JSON array.
func (t IssuedTokens) String() string {
	if len(t) == 0 {
		return ""
	}
	b, _ := json.Marshal([]IssuedToken(t)) // strings only: cannot fail
	return string(b)
}

// ParseIssuedTokens reads the stored form. A bare jti, as refresh tokens
// stored before the record existed hold, is a token of unknown audience
// (it matches no audience). Anything unreadable is no record: the rotation
// then refuses the replaced token by its second only.
func ParseIssuedTokens(s string) IssuedTokens {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil
	case !strings.HasPrefix(s, "["):
		return IssuedTokens{{ID: s}}
	}
	var t IssuedTokens
	if json.Unmarshal([]byte(s), &t) != nil {
		return nil
	}
	return t
}
