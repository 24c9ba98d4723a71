package guard

import (
	"testing"
	"time"
)

// The set is rebuilt only when a poll brings entries or one of its
// entries expires; a repeated value keeps the latest expiry.
func TestRevocationSetWith(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	skew := time.Minute
	entry := func(seq int64, kind, value string, expires time.Duration) revocationEntry {
		return revocationEntry{Seq: seq, Kind: kind, Value: value, RevokedAt: t0, ExpiresAt: t0.Add(expires)}
	}
	empty := &revocationSet{}
	if got := empty.with(nil, 0, t0, skew); got != empty {
		t.Fatal("an empty poll rebuilt the set")
	}

	s := empty.with([]revocationEntry{
		entry(1, revokeSession, "s", 10*time.Minute),
		entry(2, revokeSession, "s", 30*time.Minute),
		entry(3, revokeSession, "s", 20*time.Minute),
		entry(4, revokeSubject, "u", 10*time.Minute),
		entry(5, revokeSubject, "u", 40*time.Minute),
		entry(6, revokeToken, "gone", -2*time.Minute),
	}, 6, t0, skew)
	if s.cursor != 6 || s.size != 3 || s.sessions["s"] != t0.Add(30*time.Minute) || len(s.subjects["u"]) != 2 {
		t.Fatalf("set %+v", s)
	}
	if _, ok := s.tokens["gone"]; ok {
		t.Fatal("an entry already expired was kept")
	}
	if !s.nextExpiry.Equal(t0.Add(10 * time.Minute)) {
		t.Fatalf("nextExpiry %v", s.nextExpiry)
	}
	if got := s.with(nil, 6, t0.Add(10*time.Minute+skew-time.Nanosecond), skew); got != s {
		t.Fatal("rebuilt before any entry expired")
	}

	s2 := s.with(nil, 6, t0.Add(10*time.Minute+skew), skew)
	if s2 == s || s2.size != 2 || len(s2.subjects["u"]) != 1 || !s2.nextExpiry.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("after the first expiry: %+v", s2)
	}
	if s.size != 3 || len(s.subjects["u"]) != 2 {
		t.Fatal("the previous set was changed: readers may hold it")
	}
	if s3 := s2.with(nil, 6, t0.Add(time.Hour), skew); s3.size != 0 || len(s3.sessions)+len(s3.subjects) != 0 || !s3.nextExpiry.IsZero() {
		t.Fatalf("after every expiry: %+v", s3)
	}
}

func TestTenantOfIssuer(t *testing.T) {
	const tid = "0f8b6a52-3c1d-4e2f-9a7b-6c5d4e3f2a1b"
	for iss, want := range map[string]string{
		"https://h/" + tid + "/v2.0":                      tid,
		"https://h/" + tid + "/":                          tid,
		"https://h/0F8B6A52-3C1D-4E2F-9A7B-6C5D4E3F2A1B/": tid,
		"https://h/{tenantid}/v2.0":                       "",
		"https://h/contoso.example/v2.0":                  "",
	} {
		if got := tenantOfIssuer(iss); got != want {
			t.Errorf("tenantOfIssuer(%q) = %q, want %q", iss, got, want)
		}
	}
}
