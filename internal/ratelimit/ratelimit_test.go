package ratelimit

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestLimiterBucket: a key spends its burst, is refused with the time until
// its next request, earns requests back at the rate, and does not spend
// another key's.
func TestLimiterBucket(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(2, 5, Options{Now: c.Now})
	for i := range 5 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of a burst of 5 refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("6th request: ok %v, retry after %v; want refused, at most 1/rate = 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Error("another key was refused: buckets must be per key")
	}
	c.Add(wait)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("refused after waiting the Retry-After it was given")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Error("a refused request must not be counted as spent, nor a wait give more than one")
	}
	if tiny := New(1e-9, 1<<30, Options{Now: c.Now}); tiny.fullAfter <= 0 || tiny.fullAfter > maxFullAfter {
		t.Errorf("a tiny rate's refill time %v: want within (0, %v], never overflowed", tiny.fullAfter, maxFullAfter)
	}
	var off *Limiter = New(0, 10, Options{})
	if off != nil {
		t.Fatal("rate 0 must switch the limit off")
	}
	for range 100 {
		if ok, _ := off.Allow("a"); !ok {
			t.Fatal("a switched-off limiter refused")
		}
	}
}

// TestLimiterMemoryBounded: idle keys are forgotten once their bucket has
// refilled, and beyond MaxKeys active keys new keys are allowed without
// being remembered: memory stays bounded whatever keys a flood makes up.
func TestLimiterMemoryBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(1, 2, Options{Now: c.Now, MaxKeys: 64})
	for i := range 1000 {
		if ok, _ := l.Allow(fmt.Sprint("k", i)); !ok {
			t.Fatalf("new key %d refused", i)
		}
	}
	if n := l.keys(); n > 64 {
		t.Errorf("remembers %d keys, bound 64", n)
	}
	c.Add(time.Minute)
	l.Allow("fresh")
	for i := range shards {
		l.shard[i].mu.Lock()
		l.sweep(&l.shard[i], c.Now())
		l.shard[i].mu.Unlock()
	}
	if n := l.keys(); n != 1 {
		t.Errorf("%d keys remembered after every bucket but one refilled, want 1", n)
	}
}

// TestLimiterRace runs Allow from many goroutines; -race checks the locks,
// and the total allowed must equal the burst exactly.
func TestLimiterRace(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(1, 50, Options{Now: c.Now})
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if ok, _ := l.Allow("k"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 50 {
		t.Errorf("allowed %d of 800 concurrent requests, want the burst, 50", allowed)
	}
}

func TestSetRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {0, "1"}, {61 * time.Second, "61"}} {
		w := httptest.NewRecorder()
		SetRetryAfter(w, tc.d)
		if got := w.Header().Get("Retry-After"); got != tc.want {
			t.Errorf("RFC 9110 §10.2.3 whole seconds, rounded up: %v gave %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestClientAddress: X-Forwarded-For is believed only from a trusted proxy,
// and then only from its right end; IPv6 clients are keyed by their /64.
func TestClientAddress(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAddresses(trusted, nil, nil)
	for _, tc := range []struct {
		rule   string
		remote string
		xff    []string
		want   string
	}{
		{"no proxy: the peer", "203.0.113.7:5000", nil, "203.0.113.7"},
		{"XFF from an untrusted peer is ignored (spoofable)", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"XFF from a trusted proxy: the hop it saw", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"right-most untrusted hop, not the client's own claim", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several headers read as one list", "192.0.2.1:5000", []string{"1.1.1.1", "198.51.100.2"}, "198.51.100.2"},
		{"IPv4-mapped IPv6 peer is IPv4", "[::ffff:203.0.113.7]:5000", nil, "203.0.113.7"},
		// Hops as proxies write them (review L5: a port or brackets made
		// the trusted proxy the client).
		{"a hop with a port", "10.1.2.3:5000", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 in brackets", "10.1.2.3:5000", []string{"[2001:db8:1::5]"}, "2001:db8:1::5"},
		{"IPv6 in brackets with a port", "10.1.2.3:5000", []string{"[2001:db8:1::5]:4711"}, "2001:db8:1::5"},
		{"IPv6 without brackets", "10.1.2.3:5000", []string{"2001:db8:1::5"}, "2001:db8:1::5"},
		{"IPv4-mapped hop is IPv4", "10.1.2.3:5000", []string{"[::ffff:198.51.100.1]:80"}, "198.51.100.1"},
		{"a zone names the proxy's interface, not the client", "10.1.2.3:5000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"quoted, as RFC 7239 writes it", "10.1.2.3:5000", []string{`"[2001:db8:1::5]:4711"`}, "2001:db8:1::5"},
		{"spaces and empty elements", "10.1.2.3:5000", []string{" 198.51.100.1 ,, "}, "198.51.100.1"},
		{"a trusted hop with a port is still trusted", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9:443"}, "198.51.100.1"},
		{"only empty elements: the proxy itself", "10.1.2.3:5000", []string{" , "}, "10.1.2.3"},
		{"a hop that is no address stands for itself", "10.1.2.3:5000", []string{"198.51.100.1, nonsense"}, StandIn("nonsense").String()},
		{"a port that is not one", "10.1.2.3:5000", []string{"198.51.100.1:http"}, StandIn("198.51.100.1:http").String()},
		{"garbage behind a trusted hop", "10.1.2.3:5000", []string{"unknown, 10.9.9.9"}, StandIn("unknown").String()},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := a.Client(r).String(); got != tc.want {
			t.Errorf("%s: client %s, want %s", tc.rule, got, tc.want)
		}
	}
	if k1, k2 := Key(netip.MustParseAddr("2001:db8:1:2::1")), Key(netip.MustParseAddr("2001:db8:1:2:ffff::9")); k1 != k2 {
		t.Errorf("RFC 6177: addresses of one /64 have keys %s and %s, want one", k1, k2)
	}
	if _, err := ParsePrefixes("10.0.0.0/8,not-an-address"); err == nil {
		t.Error("a bad prefix was accepted")
	}
	// A stand-in is one key per hop text, the same in every process and
	// instance (no random seed: bans are kept in the database), and never
	// a real client's.
	if got := Key(StandIn("unknown")); got != "2001:db8:b23a:6a84::/64" {
		t.Errorf("stand-in key of %q: %s, want 2001:db8: and the first 32 bits of its SHA-256", "unknown", got)
	}
	if Key(StandIn("unknown")) == Key(StandIn("garbage")) {
		t.Error("stand-ins of different hops share a key")
	}
	if !standInPrefix.Contains(StandIn("unknown")) {
		t.Errorf("stand-in %v outside %v", StandIn("unknown"), standInPrefix)
	}
}

// TestExemptAddresses: exempt addresses are never limited per address;
// others are.
func TestExemptAddresses(t *testing.T) {
	exempt, _ := ParsePrefixes("127.0.0.0/8,::1")
	a := NewAddresses(nil, exempt, nil)
	l := New(1, 1, Options{})
	for _, tc := range []struct {
		remote string
		limit  bool
	}{{"127.0.0.1:1", false}, {"[::1]:1", false}, {"203.0.113.9:1", true}} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = tc.remote
		a.Allow(l, r)
		ok, _ := a.Allow(l, r)
		if ok == tc.limit {
			t.Errorf("%s: second request allowed %v, want limited %v", tc.remote, ok, tc.limit)
		}
	}
}

// TestSignInAddress: sign-in failures count against the client address
// as resolved through trusted proxies, never against an exempt one (the
// zero Addr, which the directory neither counts nor bans).
func TestSignInAddress(t *testing.T) {
	trusted, _ := ParsePrefixes("10.0.0.1")
	exempt, _ := ParsePrefixes("127.0.0.0/8,::1,192.0.2.0/24")
	l := &Limits{Addresses: NewAddresses(trusted, exempt, nil)}
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"203.0.113.9:1", "", "203.0.113.9"},
		{"127.0.0.1:1", "", ""},
		{"[::1]:1", "", ""},
		{"10.0.0.1:1", "198.51.100.4", "198.51.100.4"},
		{"10.0.0.1:1", "192.0.2.8", ""},                  // exempt behind the proxy
		{"203.0.113.9:1", "198.51.100.4", "203.0.113.9"}, // forged header from an untrusted peer
		{"10.0.0.1:1", "192.0.2.8:4711", ""},             // exempt behind the proxy, with a port
		{"10.0.0.1:1", "127.0.0.1:4711", ""},             // loopback behind the proxy is loopback
		{"10.0.0.1:1", "[::1]:4711", ""},
		{"10.0.0.1:1", "198.51.100.4:4711", "198.51.100.4"},
		{"10.0.0.1:1", "garbage", StandIn("garbage").String()}, // counted and bannable, never the proxy
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		got := l.SignInAddress(r)
		if (tc.want == "" && got.IsValid()) || (tc.want != "" && got.String() != tc.want) {
			t.Errorf("%s (X-Forwarded-For %q): %v, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
	var none *Limits
	if none.SignInAddress(httptest.NewRequest(http.MethodPost, "/", nil)).IsValid() {
		t.Error("no limits configured, yet an address to count")
	}
}

// TestStandInNeverExempt: a hop that is no address is never exempt, not
// even when --rate-exempt covers every address: an operator exempts
// networks, and a stand-in is in none.
func TestStandInNeverExempt(t *testing.T) {
	trusted, _ := ParsePrefixes("127.0.0.1")
	exempt, _ := ParsePrefixes("::/0,0.0.0.0/0")
	a := NewAddresses(trusted, exempt, nil)
	l := New(1, 1, Options{})
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "[not an address]")
	a.Allow(l, r)
	if ok, _ := a.Allow(l, r); ok {
		t.Error("second request of a stand-in allowed: it was exempt")
	}
	if a.Exempt(a.Client(r)) {
		t.Error("a stand-in is exempt")
	}
}

// FuzzClient: whatever a trusted proxy forwards, the client is an address
// (never the zero Addr, which would count nowhere) and, unless every hop is
// trusted, never the trusted proxy; an untrusted peer's header changes
// nothing.
func FuzzClient(f *testing.F) {
	for _, seed := range []string{"203.0.113.5", "203.0.113.5:4711", "[2001:db8::1]", "[2001:db8::1]:4711", "2001:db8::1",
		" 198.51.100.1 , 10.0.0.1", "unknown", "", ",,", "[::ffff:1.2.3.4]:80", "fe80::1%eth0", `"[2001:db8::1]:4711"`,
		"[", "]", "[]:80", "1.2.3.4:99999", "10.0.0.1, 10.0.0.2", "\x00"} {
		f.Add(seed)
	}
	trusted, _ := ParsePrefixes("10.0.0.0/8")
	a := NewAddresses(trusted, nil, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header["X-Forwarded-For"] = []string{xff}
		r.RemoteAddr = "10.0.0.1:5000"
		got := a.Client(r)
		if !got.IsValid() {
			t.Fatalf("X-Forwarded-For %q: no client address", xff)
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("X-Forwarded-For %q: client %v not normalised (zone or IPv4-mapped)", xff, got)
		}
		allTrusted := true
		for _, hop := range strings.Split(xff, ",") {
			if h, ok := parseHop(strings.TrimSpace(hop)); strings.TrimSpace(hop) != "" && (!ok || !in(trusted, h)) {
				allTrusted = false
			}
		}
		if in(trusted, got) && !allTrusted {
			t.Fatalf("X-Forwarded-For %q: the client is the trusted %v", xff, got)
		}
		r.RemoteAddr = "203.0.113.9:5000"
		if got := a.Client(r); got != netip.MustParseAddr("203.0.113.9") {
			t.Fatalf("X-Forwarded-For %q from an untrusted peer: client %v", xff, got)
		}
	})
}

// keys is how many keys l remembers, for tests.
func (l *Limiter) keys() int {
	n := 0
	for i := range l.shard {
		l.shard[i].mu.Lock()
		n += len(l.shard[i].buckets)
		l.shard[i].mu.Unlock()
	}
	return n
}
