package guard

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	it0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	skew = time.Minute
)

func entryAt(seq int64, kind, value string, revokedAt time.Time, expires time.Duration) revocationEntry {
	return revocationEntry{Seq: seq, Kind: kind, Value: value, RevokedAt: revokedAt, ExpiresAt: it0.Add(expires)}
}

// superseding is a refresh's entry: sid's tokens for aud issued before
// iat (the new token's second), and the token prior it replaced.
func superseding(seq int64, sid, aud, prior string, iat time.Time) revocationEntry {
	return revocationEntry{Seq: seq, Kind: revokeSuperseded, Value: sid, Aud: aud, Prior: prior, RevokedAt: iat, ExpiresAt: iat.Add(time.Hour)}
}

func refusedBy(x *revocationIndex, p *Principal, now time.Time) string {
	return x.refuses(p, func() time.Time { return now }, skew)
}

// A repeated sid or jti keeps the latest expiry; an oid or client keeps the
// windows that no other covers; an entry already expired is not kept; each
// goes once its expiresAt plus the skew has passed.
func TestRevocationIndexEntries(t *testing.T) {
	x := newRevocationIndex()
	x.apply(nil, it0, skew)
	if x.count.Load() != 0 || len(x.heap) != 0 {
		t.Fatal("an empty poll added entries")
	}
	x.apply([]revocationEntry{
		entryAt(1, revokeSession, "s", it0, 10*time.Minute),
		entryAt(2, revokeSession, "s", it0, 30*time.Minute),
		entryAt(3, revokeSession, "s", it0, 20*time.Minute),
		// u: revoked at it0 until +10m, then at it0+5m until +40m (covers
		// the first); v: at it0 until +60m, then at it0+5m until +20m
		// (neither covers the other).
		entryAt(4, revokeSubject, "u", it0, 10*time.Minute),
		entryAt(5, revokeSubject, "u", it0.Add(5*time.Minute), 40*time.Minute),
		entryAt(6, revokeSubject, "v", it0, 60*time.Minute),
		entryAt(7, revokeSubject, "v", it0.Add(5*time.Minute), 20*time.Minute),
		entryAt(8, revokeToken, "gone", it0, -2*time.Minute),
	}, it0, skew)
	if n := x.count.Load(); n != 3 {
		t.Fatalf("%d entries, want 3 (s, u, v)", n)
	}
	s := x.lookup(x.table.Load(), kindSession, "s", "")
	u := x.lookup(x.table.Load(), kindSubject, "u", "")
	v := x.lookup(x.table.Load(), kindSubject, "v", "")
	if s == nil || s.expiry != it0.Add(30*time.Minute).UnixNano() || u == nil || len(u.more) != 0 || v == nil || len(v.more) != 1 {
		t.Fatalf("s %+v, u %+v, v %+v", s, u, v)
	}
	if x.lookup(x.table.Load(), kindToken, "gone", "") != nil {
		t.Fatal("an entry already expired was kept")
	}

	late := it0.Add(6 * time.Minute)
	cases := []struct {
		name string
		p    *Principal
		at   time.Time
		want string
	}{
		{"sid, while live", &Principal{SessionID: "s", IssuedAt: late}, it0.Add(30*time.Minute + skew - time.Nanosecond), revokeSession},
		{"sid, after expiresAt plus skew", &Principal{SessionID: "s", IssuedAt: late}, it0.Add(30*time.Minute + skew), ""},
		{"oid u, issued before the later window", &Principal{ObjectID: "u", IssuedAt: it0.Add(4 * time.Minute)}, it0.Add(30 * time.Minute), revokeSubject},
		{"oid u, issued after both", &Principal{ObjectID: "u", IssuedAt: late}, it0, ""},
		{"oid v, early token, after the short window ended", &Principal{ObjectID: "v", IssuedAt: it0}, it0.Add(50 * time.Minute), revokeSubject},
		{"oid v, later token, after the short window ended", &Principal{ObjectID: "v", IssuedAt: it0.Add(4 * time.Minute)}, it0.Add(50 * time.Minute), ""},
		{"oid v, later token, in the short window", &Principal{ObjectID: "v", IssuedAt: it0.Add(4 * time.Minute)}, it0.Add(10 * time.Minute), revokeSubject},
		{"oid, no iat", &Principal{ObjectID: "u"}, it0, revokeSubject},
	}
	for _, tc := range cases {
		if got := refusedBy(x, tc.p, tc.at); got != tc.want {
			t.Errorf("%s: refused by %q, want %q", tc.name, got, tc.want)
		}
	}

	// Polls drop what expired, and only that.
	x.apply(nil, it0.Add(30*time.Minute+skew-time.Nanosecond), skew)
	if n := x.count.Load(); n != 3 {
		t.Fatalf("%d entries before any expired, want 3", n)
	}
	x.apply(nil, it0.Add(40*time.Minute+skew), skew)
	if n := x.count.Load(); n != 1 || x.lookup(x.table.Load(), kindSubject, "v", "") == nil {
		t.Fatalf("%d entries after s and u expired, want v alone", n)
	}
	x.apply(nil, it0.Add(2*time.Hour), skew)
	if x.count.Load() != 0 || len(x.heap) != 0 {
		t.Fatalf("after every expiry: %d entries, heap %d", x.count.Load(), len(x.heap))
	}
}

// One entry per sign-in and audience, however many refreshes: each takes
// the place of the one before. It refuses the sign-in's earlier tokens for
// its audience and the one its refresh replaced (of the same second too),
// not the token the refresh issued nor a later one (of the same second
// too: a later refresh the guard has not heard of yet), and nothing for
// another audience.
func TestRevocationIndexSuperseded(t *testing.T) {
	x := newRevocationIndex()
	// Refresh i, at it0+i s, replaced jti-i and issued jti-(i+1).
	for i := range 500 {
		x.apply([]revocationEntry{superseding(int64(i+1), "sid-1", "api://one", fmt.Sprint("jti-", i), it0.Add(time.Duration(i)*time.Second))}, it0, skew)
	}
	if n := x.count.Load(); n != 1 {
		t.Fatalf("%d entries after 500 refreshes of one sign-in, want 1", n)
	}
	last := it0.Add(499 * time.Second)
	token := func(jti, aud string, iat time.Time) *Principal {
		return &Principal{SessionID: "sid-1", Audience: []string{aud}, IssuedAt: iat, jti: jti, uti: jti}
	}
	for _, tc := range []struct {
		name string
		p    *Principal
		want string
	}{
		{"the first token", token("jti-0", "api://one", it0), revokeSuperseded},
		{"an earlier one", token("jti-300", "api://one", it0.Add(300*time.Second)), revokeSuperseded},
		{"the one replaced, of the same second", token("jti-499", "api://one", last), revokeSuperseded},
		{"the replacement", token("jti-500", "api://one", last), ""},
		{"a later refresh's token of the same second", token("jti-501", "api://one", last), ""},
		{"a later token", token("jti-501", "api://one", last.Add(time.Second)), ""},
		{"the sign-in's token for another API", token("jti-x", "api://two", it0), ""},
		{"another sign-in's token for the API", &Principal{SessionID: "sid-2", Audience: []string{"api://one"}, IssuedAt: it0, jti: "j"}, ""},
	} {
		if got := refusedBy(x, tc.p, it0); got != tc.want {
			t.Errorf("%s: refused by %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A poll that brings one entry to a large index replaces one bucket: its
// cost follows what changed, not what is held. The table grows with the
// entries and shrinks as they expire.
func TestRevocationIndexPollCost(t *testing.T) {
	x := newRevocationIndex()
	const n = 5000
	added := make([]revocationEntry, n)
	for i := range added {
		added[i] = superseding(int64(i+1), fmt.Sprint("sid-", i), "api://one", fmt.Sprint("jti-", i), it0)
	}
	x.apply(added, it0, skew)
	tab := x.table.Load()
	if got := x.count.Load(); got != n || len(tab.buckets) > n || len(tab.buckets) < n/maxLoad {
		t.Fatalf("%d entries in %d buckets", got, len(tab.buckets))
	}
	before := make([]*revBucket, len(tab.buckets))
	for i := range tab.buckets {
		before[i] = tab.buckets[i].Load()
	}
	x.apply([]revocationEntry{superseding(n+1, "sid-7", "api://one", "jti-new", it0.Add(time.Second))}, it0, skew)
	if x.table.Load() != tab {
		t.Fatal("the poll rebuilt the table")
	}
	changed := 0
	for i := range tab.buckets {
		if tab.buckets[i].Load() != before[i] {
			changed++
		}
	}
	if changed != 1 {
		t.Fatalf("a poll of one entry replaced %d buckets, want 1", changed)
	}
	x.apply(nil, it0.Add(3*time.Hour), skew)
	if x.count.Load() != 0 || len(x.table.Load().buckets) != minBuckets {
		t.Fatalf("after expiry: %d entries, %d buckets", x.count.Load(), len(x.table.Load().buckets))
	}
}

// Readers never lock and never see a key without its entry while polls
// replace it (run with -race).
func TestRevocationIndexConcurrentReaders(t *testing.T) {
	x := newRevocationIndex()
	x.apply([]revocationEntry{entryAt(1, revokeSession, "held", it0, time.Hour)}, it0, skew)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			p := &Principal{SessionID: "held"}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if refusedBy(x, p, it0) != revokeSession {
					t.Error("a revoked sign-in was accepted while polls ran")
					return
				}
			}
		})
	}
	for i := range 2000 {
		x.apply([]revocationEntry{
			superseding(int64(i+2), fmt.Sprint("sid-", i%50), "api://one", fmt.Sprint("jti-", i), it0.Add(time.Duration(i)*time.Millisecond)),
			entryAt(int64(i+2), revokeToken, fmt.Sprint("tok-", i), it0, time.Duration(i%20)*time.Minute),
		}, it0.Add(time.Duration(i)*time.Second), skew)
	}
	close(stop)
	wg.Wait()
}

// BenchmarkRevocationIndexMemory reports the heap the index holds per
// entry, for refreshes' entries (one per sign-in and audience), measured
// after a collection.
func BenchmarkRevocationIndexMemory(b *testing.B) {
	const n = 100000
	for range b.N {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		x := newRevocationIndex()
		page := make([]revocationEntry, 0, 500)
		for i := range n {
			// As decoded from the feed: strings of their own.
			page = append(page, superseding(int64(i+1), fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), fmt.Sprintf("api://%08x-0000-4000-8000-000000000000", i%10),
				fmt.Sprintf("%08x-1111-4000-8000-%012x", i, i), it0))
			if len(page) == cap(page) {
				x.apply(page, it0, skew)
				page = page[:0]
			}
		}
		page = nil
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "B/entry")
		runtime.KeepAlive(x)
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

// BenchmarkRevocationPollOfOne is a poll that brings one entry to a guard
// holding 100,000: the cost of what changed, not of what is held.
func BenchmarkRevocationPollOfOne(b *testing.B) {
	const n = 100000
	x := newRevocationIndex()
	page := make([]revocationEntry, 0, n)
	for i := range n {
		page = append(page, superseding(int64(i+1), fmt.Sprint("sid-", i), "api://one", fmt.Sprint("jti-", i), it0))
	}
	x.apply(page, it0, skew)
	one := []revocationEntry{{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		one[0] = superseding(int64(n+i+1), fmt.Sprint("sid-", i%n), "api://one", "jti-next", it0.Add(time.Second))
		x.apply(one, it0, skew)
	}
}

// BenchmarkRevocationLookup is Validate's revocation check of a token none
// of 40,000 entries (10,000 of each kind but superseded, and 10,000 of
// that) refuses: the lookups of its sid, ids, oid, clients and audience.
func BenchmarkRevocationLookup(b *testing.B) {
	x := newRevocationIndex()
	var page []revocationEntry
	for i := range 10000 {
		for _, kind := range []string{revokeSession, revokeToken, revokeSubject, revokeClient} {
			page = append(page, entryAt(int64(len(page)+1), kind, fmt.Sprint(kind, "-", i), it0, time.Hour))
		}
		page = append(page, superseding(int64(len(page)+1), fmt.Sprint("sid-", i), "api://one", fmt.Sprint("jti-", i), it0))
	}
	x.apply(page, it0, skew)
	p := &Principal{SessionID: "sid-x", ObjectID: "oid-x", Audience: []string{"api://one"}, IssuedAt: it0, jti: "jti-x", uti: "uti-x", azp: "client-x"}
	now := func() time.Time { return it0 }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if x.refuses(p, now, skew) != "" {
			b.Fatal("refused")
		}
	}
}
