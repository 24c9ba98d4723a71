package guard

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// tokenSums hashes the token once for the cache key and the signing
// input; both sums must be the plain SHA-256 of their text, wherever the
// last '.' falls against the 512-byte buffer.
func TestTokenSums(t *testing.T) {
	for _, raw := range []string{
		"", "abc", ".", "a.", ".a", "h.p.s", "h.p.",
		strings.Repeat("x", 511) + ".sig", strings.Repeat("x", 512) + ".sig", strings.Repeat("x", 513) + ".sig",
		strings.Repeat("h", 40) + "." + strings.Repeat("p", 1500) + "." + strings.Repeat("s", 342),
		strings.Repeat("y", 1024) + ".", strings.Repeat("z", 2000),
	} {
		whole, input, n := tokenSums(raw)
		if whole != sha256.Sum256([]byte(raw)) {
			t.Errorf("%.20q…: whole sum differs", raw)
		}
		if want := strings.LastIndexByte(raw, '.'); n != want {
			t.Errorf("%.20q…: input length %d, want %d", raw, n, want)
		} else if n >= 0 && input != sha256.Sum256([]byte(raw[:n])) {
			t.Errorf("%.20q…: signing input sum differs", raw)
		}
		if sha256Of(raw) != whole {
			t.Errorf("%.20q…: sha256Of differs", raw)
		}
	}
}

// The table is RFC 6750 §2.1's b64token, byte for byte.
func TestB64TokenByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", byte(c)) >= 0
		if b64TokenByte[c] != want {
			t.Errorf("byte %#x: %v, want %v", c, b64TokenByte[c], want)
		}
	}
}
