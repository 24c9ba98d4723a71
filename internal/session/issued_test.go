package session

import (
	"fmt"
	"slices"
	"testing"
)

// A chain remembers the latest access token of each audience, the most
// recently used audiences last and at most maxIssuedAudiences of them;
// the stored form reads back the same, and what older versions stored (a
// bare jti) or anything unreadable never names a token of an audience.
func TestIssuedTokens(t *testing.T) {
	var chain IssuedTokens
	chain = chain.With("api://one", "j1").With("api://two", "j2").With("api://one", "j3")
	if got := chain.Latest("api://one"); got != "j3" {
		t.Errorf("latest of api://one = %q, want j3", got)
	}
	if got := chain.Latest("api://two"); got != "j2" {
		t.Errorf("latest of api://two = %q, want j2", got)
	}
	if got := chain.Latest("api://three"); got != "" {
		t.Errorf("latest of an audience never issued = %q", got)
	}
	if want := (IssuedTokens{{"api://two", "j2"}, {"api://one", "j3"}}); !slices.Equal(chain, want) {
		t.Errorf("chain = %v, want %v (one per audience, the latest last)", chain, want)
	}
	before := slices.Clone(chain)
	_ = chain.With("api://two", "j4")
	if !slices.Equal(chain, before) {
		t.Error("With changed the record it was called on")
	}
	if back := ParseIssuedTokens(chain.String()); !slices.Equal(back, chain) {
		t.Errorf("round trip: %v, want %v", back, chain)
	}

	var many IssuedTokens
	for i := range maxIssuedAudiences + 3 {
		many = many.With(fmt.Sprint("api://", i), fmt.Sprint("j", i))
	}
	if len(many) != maxIssuedAudiences || many.Latest("api://0") != "" || many.Latest(fmt.Sprint("api://", maxIssuedAudiences+2)) == "" {
		t.Errorf("%d audiences kept (%v), want the %d most recent", len(many), many, maxIssuedAudiences)
	}

	for _, stored := range []string{"", "jti-from-an-older-version", "[not json", `{"aud":"x"}`} {
		if got := ParseIssuedTokens(stored).Latest("api://one"); got != "" {
			t.Errorf("ParseIssuedTokens(%q) names %q for api://one", stored, got)
		}
	}
	if (IssuedTokens{}).String() != "" {
		t.Error("an empty record is not stored as empty")
	}
}
