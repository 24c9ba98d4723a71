package guard

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// Only a token whose signature verified teaches the guard its header; a
// known header decides as a parse would (the kid is still looked up, the
// key still has to fit); and the set of known headers is bounded.
func TestHeaderCache(t *testing.T) {
	idp, g := uncachedGuard(t)
	tok := entraSizedToken(t, idp, idp.RSA)
	h := tok[:strings.IndexByte(tok, '.')]

	// A forged signature under the issuer's header teaches nothing.
	forged := tok[:strings.LastIndexByte(tok, '.')+1] + strings.Repeat("A", 342)
	if _, err := g.Validate(context.Background(), forged); err == nil {
		t.Fatal("a forged signature verified")
	}
	if _, ok := g.headers.get(h); ok {
		t.Fatal("a token that did not verify added its header")
	}

	want, err := g.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := g.headers.get(h)
	if !ok || f.alg != "RS256" || f.kid != idp.RSA.ID || f.typ != "JWT" {
		t.Fatalf("header after a verified token: %+v, %v", f, ok)
	}
	// Known now: the same answer, and a forgery under it still fails.
	got, err := g.Validate(context.Background(), tok)
	if err != nil || !samePrincipal(got, want) {
		t.Fatalf("second validation: %+v, %v", got, err)
	}
	if _, err := g.Validate(context.Background(), forged); err == nil {
		t.Fatal("a forged signature under a known header verified")
	}
	if _, err := g.Validate(context.Background(), tamperPayload(tok)); err == nil {
		t.Fatal("a changed payload under a known header verified")
	}

	// Bounded: headers beyond maxKnownHeaders are parsed every time.
	var c headerCache
	j := compactJWS{alg: "RS256", kid: "k", typ: "JWT"}
	for i := range maxKnownHeaders + 10 {
		c.add(fmt.Sprintf("h%d", i), &j)
	}
	if n := len(*c.m.Load()); n != maxKnownHeaders {
		t.Fatalf("%d headers kept, want %d", n, maxKnownHeaders)
	}
	if _, ok := c.get(fmt.Sprintf("h%d", maxKnownHeaders)); ok {
		t.Fatal("a header past the bound was kept")
	}
	var none *headerCache
	if _, ok := none.get(h); ok {
		t.Fatal("a nil cache knows a header")
	}
	none.add(h, &j) // no panic
}
