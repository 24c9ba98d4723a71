package oauth

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestThumbprintInEitherAlphabet: RFC 7515 §4.1.7-8 says base64url, MSAL
// writes x5t#S256 in standard base64 with padding; both name the same
// certificate, and a different certificate matches in neither.
func TestThumbprintInEitherAlphabet(t *testing.T) {
	// Bytes whose base64 has '+', '/' and padding in the standard alphabet.
	var der []byte
	for i := 0; ; i++ {
		der = fmt.Appendf(nil, "certificate %d", i)
		s := sha256.Sum256(der)
		h := sha1.Sum(der)
		std, std1 := base64.StdEncoding.EncodeToString(s[:]), base64.StdEncoding.EncodeToString(h[:])
		if containsAll(std, "+/=") && containsAll(std1, "+/=") {
			break
		}
	}
	c := directory.Credential{CertificateDER: der}
	other := directory.Credential{CertificateDER: []byte("another certificate")}
	s, h := sha256.Sum256(der), sha1.Sum(der)
	for _, tc := range []struct {
		name, x5t, x5tS256 string
	}{
		{"x5t#S256 base64url", "", base64.RawURLEncoding.EncodeToString(s[:])},
		{"x5t#S256 standard base64 with padding (MSAL)", "", base64.StdEncoding.EncodeToString(s[:])},
		{"x5t base64url", base64.RawURLEncoding.EncodeToString(h[:]), ""},
		{"x5t standard base64 with padding", base64.StdEncoding.EncodeToString(h[:]), ""},
	} {
		if !thumbprintMatches(c, tc.x5t, tc.x5tS256) {
			t.Errorf("%s: the certificate does not match", tc.name)
		}
		if thumbprintMatches(other, tc.x5t, tc.x5tS256) {
			t.Errorf("%s: another certificate matches", tc.name)
		}
	}
}

func containsAll(s, chars string) bool {
	for _, c := range chars {
		if !strings.ContainsRune(s, c) {
			return false
		}
	}
	return true
}
