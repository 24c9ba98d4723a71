package session

import (
	"slices"
	"testing"
	"time"
)

// Which tokens each kind of feed entry refuses. The guard applies the same
// rules to the same entries (guard/revocation.go).
func TestRefuses(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	before, same, after := t0.Add(-time.Minute), t0, t0.Add(time.Second)
	token := func(iat time.Time) AccessToken {
		return AccessToken{SessionID: "sid-1", JTI: "jti-1", UTI: "uti-1", ObjectID: "oid-1", ClientID: "client-1",
			Audience: "api://one", IssuedAt: iat}
	}
	with := func(iat time.Time, edit func(*AccessToken)) AccessToken {
		tok := token(iat)
		edit(&tok)
		return tok
	}
	// A refresh at t0 replaced the token jti-old; its new token is
	// jti-new, issued at t0.
	superseded := Revocation{Kind: RevokeSuperseded, Value: "sid-1", Audience: "api://one", Prior: "jti-old", RevokedAt: t0}
	old := func(iat time.Time) AccessToken {
		return with(iat, func(a *AccessToken) { a.JTI, a.UTI = "jti-old", "jti-old" })
	}
	for _, tc := range []struct {
		rule  string
		entry Revocation
		token AccessToken
		want  bool
	}{
		{"sid: every token of the grant", Revocation{Kind: RevokeGrant, Value: "sid-1", RevokedAt: t0}, token(after), true},
		{"sid: not another grant's", Revocation{Kind: RevokeGrant, Value: "sid-2"}, token(before), false},
		{"sid: never an app token (no sid)", Revocation{Kind: RevokeGrant, Value: ""}, with(before, func(a *AccessToken) { a.SessionID = "" }), false},
		{"jti: the token by jti", Revocation{Kind: RevokeToken, Value: "jti-1"}, token(after), true},
		{"jti: the token by uti", Revocation{Kind: RevokeToken, Value: "uti-1"}, token(after), true},
		{"jti: not another token", Revocation{Kind: RevokeToken, Value: "jti-2"}, token(before), false},
		{"oid: issued before", Revocation{Kind: RevokeSubject, Value: "oid-1", RevokedAt: t0}, token(before), true},
		{"oid: issued in the same second counts as before", Revocation{Kind: RevokeSubject, Value: "oid-1", RevokedAt: t0}, token(same), true},
		{"oid: issued after", Revocation{Kind: RevokeSubject, Value: "oid-1", RevokedAt: t0}, token(after), false},
		{"oid: no iat cannot show it came after", Revocation{Kind: RevokeSubject, Value: "oid-1", RevokedAt: t0}, token(time.Time{}), true},
		{"client: issued before, any case", Revocation{Kind: RevokeClient, Value: "CLIENT-1", RevokedAt: t0}, token(before), true},
		{"client: issued after", Revocation{Kind: RevokeClient, Value: "client-1", RevokedAt: t0}, token(after), false},
		{"superseded: an earlier token of the grant for the audience", superseded, token(before), true},
		{"superseded: the token replaced, of an earlier second", superseded, old(before), true},
		{"superseded: the token replaced, of the same second (by jti)", superseded, old(same), true},
		{"superseded: the token replaced, of the same second (by uti)", superseded, with(same, func(a *AccessToken) { a.UTI = "jti-old" }), true},
		{"superseded: the new token, of the same second", superseded, with(same, func(a *AccessToken) { a.JTI, a.UTI = "jti-new", "jti-new" }), false},
		{"superseded: a later refresh's token of the same second, at a guard holding this entry still", superseded,
			with(same, func(a *AccessToken) { a.JTI, a.UTI = "jti-next", "jti-next" }), false},
		{"superseded: a later token (the next refresh's)", superseded, token(after), false},
		{"superseded: no iat cannot show it came after", superseded, token(time.Time{}), true},
		{"superseded: the grant's token for another audience (item 8)", superseded, with(before, func(a *AccessToken) { a.Audience = "api://two" }), false},
		{"superseded: another grant's token for the audience", superseded, with(before, func(a *AccessToken) { a.SessionID = "sid-2" }), false},
		{"superseded: never an app token (no sid)", Revocation{Kind: RevokeSuperseded, Value: "", Audience: "api://one", RevokedAt: t0},
			with(before, func(a *AccessToken) { a.SessionID = "" }), false},
		{"an unknown kind refuses nothing", Revocation{Kind: "device", Value: "sid-1", RevokedAt: t0}, token(before), false},
	} {
		if got := Refuses(tc.entry, tc.token); got != tc.want {
			t.Errorf("%s: Refuses = %v, want %v", tc.rule, got, tc.want)
		}
	}
}

// The values looked up are every one an entry refusing the token can
// name, once each.
func TestLookupValues(t *testing.T) {
	got := AccessToken{SessionID: "s", JTI: "j", UTI: "j", ObjectID: "o", ClientID: "C-1"}.lookupValues()
	if want := []string{"s", "j", "o", "C-1", "c-1"}; !slices.Equal(got, want) {
		t.Fatalf("lookupValues = %v, want %v", got, want)
	}
	if got := (AccessToken{JTI: "j"}).lookupValues(); !slices.Equal(got, []string{"j"}) {
		t.Fatalf("an app token's lookupValues = %v", got)
	}
}
