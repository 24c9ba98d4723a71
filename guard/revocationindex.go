package guard

import (
	"hash/maphash"
	"math"
	"sync/atomic"
	"time"
)

// revocationIndex holds the live revocations of one feed, updated in place
// by the poll that reads them and read without a lock by every Validate.
//
// It is a hash table of immutable entries whose buckets are replaced, not
// changed: a poll that brings k entries (or drops k expired ones) copies
// k buckets of one or two entries each, so its cost follows what changed,
// not how much is held (the set it replaces was copied whole on every such
// poll). A reader loads the table, then a bucket, through atomic pointers,
// and compares a few entries: no lock, no allocation. The table doubles or
// halves with the number of entries; that copy, rare, is paid over the
// inserts or removals that led to it.
//
// Memory follows the entries held, one per key: a sign-in revoked (sid), a
// token (jti/uti), a user or client (several windows, see window), and for
// a refresh the one entry that retires the sign-in's earlier tokens for an
// audience, replaced by the next refresh's (superseded). Entries go when
// every token they concern has expired: an expiry heap finds them without
// a scan.
type revocationIndex struct {
	seed  maphash.Seed
	table atomic.Pointer[revTable]
	count atomic.Int64 // entries held
	// held counts the entries of each kind, so that a lookup of a kind
	// the feed has none of (most, most of the time) is skipped.
	held [kindSuperseded + 1]atomic.Int64

	// The writer's own, under revocations.pollMu: every entry, by when it
	// can go (revEntry.expiry), so that a poll finds the expired ones
	// without looking at the others; and one copy of each audience named,
	// which thousands of sign-ins' entries share.
	heap []*revEntry
	auds map[string]string
}

// maxAuds bounds revocationIndex.auds: a tenant has that many APIs at most
// in practice; past it the map starts over.
const maxAuds = 1024

// revKind is a feed entry's kind as the index keeps it.
type revKind uint8

const (
	kindSession revKind = iota + 1
	kindToken
	kindSubject
	kindClient
	kindSuperseded
)

// never is the expiry of an entry that never expires (expiresAt absent).
const never = math.MaxInt64

// window refuses the tokens issued at or before revokedAt while it lives
// (until expiresAt plus the skew). Times are Unix nanoseconds.
type window struct{ revokedAt, expiresAt int64 }

// revEntry is one key's revocations, immutable once published: a change
// publishes a new entry in its place.
type revEntry struct {
	kind  revKind
	value string // sid, jti or uti, oid, client id
	// superseded only: the audience, and the id of the token the refresh
	// replaced (refused whenever issued).
	aud, prior string
	// w is the entry's window: for sid and jti only its expiry counts
	// (every token is refused, whenever issued); oid and client keep more
	// windows when neither covers the other (see addWindow).
	w    window
	more []window
	// expiry is the latest expiresAt of the windows: the entry goes once
	// it has passed (plus the skew).
	expiry int64
	// heapAt is the entry's place in revocationIndex.heap; the writer's.
	heapAt int
}

// revTable is one generation of the hash table: a power-of-two number of
// buckets, each an immutable list behind an atomic pointer.
type revTable struct {
	buckets []atomic.Pointer[revBucket]
	mask    uint64
}

// revBucket is a bucket's entries with their keys' hashes, so that a
// lookup passes over the others without reading them.
type revBucket struct{ slots []revSlot }

type revSlot struct {
	hash uint64
	e    *revEntry
}

const (
	minBuckets = 64
	// maxLoad and minLoad are the entries per bucket above which the
	// table doubles and below which (over minBuckets) it halves.
	maxLoad = 2
	minLoad = 1.0 / 8
)

func newRevocationIndex() *revocationIndex {
	x := &revocationIndex{seed: maphash.MakeSeed()}
	x.table.Store(newRevTable(minBuckets))
	return x
}

func newRevTable(n int) *revTable {
	return &revTable{buckets: make([]atomic.Pointer[revBucket], n), mask: uint64(n - 1)}
}

// str hashes one string of a key ("" as 0).
func (x *revocationIndex) str(s string) uint64 {
	if s == "" {
		return 0
	}
	return maphash.String(x.seed, s)
}

// keyHash combines the hashes of a key's value and audience with its kind;
// a reader hashes a token's sid once for both kinds that name it.
func keyHash(kind revKind, value, aud uint64) uint64 {
	h := value ^ aud*0x9e3779b97f4a7c15 + uint64(kind)*0xff51afd7ed558ccd
	return h ^ h>>31
}

func (x *revocationIndex) hash(kind revKind, value, aud string) uint64 {
	return keyHash(kind, x.str(value), x.str(aud))
}

// find returns the entry of a key whose hash is h in t, or nil.
func find(t *revTable, h uint64, kind revKind, value, aud string) *revEntry {
	b := t.buckets[h&t.mask].Load()
	if b == nil {
		return nil
	}
	for _, s := range b.slots {
		if s.hash == h && s.e.kind == kind && s.e.value == value && s.e.aud == aud {
			return s.e
		}
	}
	return nil
}

// lookup is find for a key of strings, for the writer.
func (x *revocationIndex) lookup(t *revTable, kind revKind, value, aud string) *revEntry {
	return find(t, x.hash(kind, value, aud), kind, value, aud)
}

// nanos is t in Unix nanoseconds, the zero time as never.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return never
	case t.Year() >= 2262: // past int64 nanoseconds
		return never - 1
	case t.Year() < 1678:
		return math.MinInt64
	}
	return t.UnixNano()
}

// live reports whether a window with this expiry still refuses tokens at
// now: until expiresAt plus the skew, as long as the guard still accepts
// the tokens it concerns (RFC 7519 §4.1.4).
func live(expiresAt, now, skew int64) bool { return now-skew < expiresAt }

// issuedBefore: a token issued at iat falls under a window revoked at
// revokedAt. A token without iat cannot show that it was issued after
// the revocation, so it falls under any window.
func issuedBefore(iat time.Time, revokedAt int64) bool {
	return iat.IsZero() || iat.UnixNano() <= revokedAt
}

// issuedStrictlyBefore is issuedBefore for a superseding refresh, whose
// revokedAt is its new token's iat: a token of that same second may be
// the new one, so only earlier seconds are refused (the replaced token of
// the same second is refused by its id, revEntry.prior).
func issuedStrictlyBefore(iat time.Time, revokedAt int64) bool {
	return iat.IsZero() || iat.UnixNano() < revokedAt
}

// refuses returns the kind of the entry that refuses p, or "". now is
// read only when an entry is found: most tokens have none.
func (x *revocationIndex) refuses(p *Principal, now func() time.Time, skew time.Duration) string {
	if x.count.Load() == 0 {
		return ""
	}
	t := x.table.Load()
	var at int64
	alive := func(w window) bool {
		if at == 0 {
			at = now().UnixNano()
		}
		return live(w.expiresAt, at, int64(skew))
	}
	before := func(e *revEntry) bool {
		if e == nil {
			return false
		}
		if alive(e.w) && issuedBefore(p.IssuedAt, e.w.revokedAt) {
			return true
		}
		for _, w := range e.more {
			if alive(w) && issuedBefore(p.IssuedAt, w.revokedAt) {
				return true
			}
		}
		return false
	}
	has := func(k revKind) bool { return x.held[k].Load() > 0 }
	var sid uint64 // the hash of p's sid, for both kinds that name it
	bySid := p.SessionID != "" && (has(kindSession) || has(kindSuperseded))
	if bySid {
		sid = x.str(p.SessionID)
	}
	if bySid && has(kindSession) {
		if e := find(t, keyHash(kindSession, sid, 0), kindSession, p.SessionID, ""); e != nil && alive(e.w) {
			return revokeSession
		}
	}
	// Entra tokens carry uti, tessera's both; an entry may name either.
	if has(kindToken) {
		for _, id := range [2]string{p.jti, p.uti} {
			if id == "" {
				continue
			}
			if e := find(t, keyHash(kindToken, x.str(id), 0), kindToken, id, ""); e != nil && alive(e.w) {
				return revokeToken
			}
		}
	}
	if p.ObjectID != "" && has(kindSubject) && before(find(t, keyHash(kindSubject, x.str(p.ObjectID), 0), kindSubject, p.ObjectID, "")) {
		return revokeSubject
	}
	// v2 tokens name the client in azp, v1 tokens in appid.
	if has(kindClient) {
		for _, c := range [2]string{p.azp, p.appid} {
			if c != "" && before(find(t, keyHash(kindClient, x.str(c), 0), kindClient, c, "")) {
				return revokeClient
			}
		}
	}
	// A refresh of the sign-in for this audience replaced the token: it
	// is the one the refresh replaced, or older than the new one's second.
	if bySid && has(kindSuperseded) {
		for _, aud := range p.Audience {
			e := find(t, keyHash(kindSuperseded, sid, x.str(aud)), kindSuperseded, p.SessionID, aud)
			if e != nil && alive(e.w) && (issuedStrictlyBefore(p.IssuedAt, e.w.revokedAt) || e.prior != "" && (e.prior == p.jti || e.prior == p.uti)) {
				return revokeSuperseded
			}
		}
	}
	return ""
}

// entryOf is the index's form of a feed entry of a known kind, or nil.
func entryOf(e revocationEntry) *revEntry {
	var kind revKind
	switch e.Kind {
	case revokeSession:
		kind = kindSession
	case revokeToken:
		kind = kindToken
	case revokeSubject:
		kind = kindSubject
	case revokeClient:
		kind = kindClient
	case revokeSuperseded:
		kind = kindSuperseded
	default:
		return nil
	}
	w := window{revokedAt: nanos(e.RevokedAt), expiresAt: nanos(e.ExpiresAt)}
	if kind == kindSession || kind == kindToken {
		w.revokedAt = never // every token of the sign-in, or the one token
	}
	n := &revEntry{kind: kind, value: e.Value, w: w, expiry: w.expiresAt}
	if kind == kindSuperseded {
		n.aud, n.prior = e.Aud, e.Prior
	}
	return n
}

// apply puts the entries of a poll, in feed order, then drops the entries
// that expired by now. The writer's: one poll at a time.
func (x *revocationIndex) apply(added []revocationEntry, now time.Time, skew time.Duration) {
	at, sk := now.UnixNano(), int64(skew)
	for _, a := range added {
		if n := entryOf(a); n != nil {
			x.put(n, at, sk)
		}
	}
	for len(x.heap) > 0 && !live(x.heap[0].expiry, at, sk) {
		x.remove(x.heap[0])
	}
}

// put adds n, merged with the entry of its key if there is one: a sid or
// jti keeps the later expiry, an oid or client adds a window, a superseded
// entry replaces the one before it (the feed sends them in order). An
// entry already expired is not kept.
func (x *revocationIndex) put(n *revEntry, now, skew int64) {
	if !live(n.expiry, now, skew) {
		return
	}
	t := x.table.Load()
	old := x.lookup(t, n.kind, n.value, n.aud)
	if old != nil {
		switch n.kind {
		case kindSession, kindToken:
			if old.expiry >= n.expiry {
				return // the later expiry covers both entries
			}
		case kindSubject, kindClient:
			if n = addWindow(old, n.w, now, skew); n == nil {
				return
			}
		}
		// The same strings, so that a key changed often keeps one copy.
		n.value, n.aud = old.value, old.aud
	} else if n.aud != "" {
		n.aud = x.intern(n.aud)
	}
	x.replace(t, old, n)
	if old != nil {
		n.heapAt = old.heapAt
		x.heap[n.heapAt] = n
		x.fix(n.heapAt)
		return
	}
	n.heapAt = len(x.heap)
	x.heap = append(x.heap, n)
	x.up(n.heapAt)
	x.held[n.kind].Add(1)
	if x.count.Add(1) > int64(len(t.buckets))*maxLoad {
		x.resize(len(t.buckets) * 2)
	}
}

// intern returns the index's copy of the audience aud.
func (x *revocationIndex) intern(aud string) string {
	if have, ok := x.auds[aud]; ok {
		return have
	}
	if x.auds == nil || len(x.auds) >= maxAuds {
		x.auds = make(map[string]string)
	}
	x.auds[aud] = aud
	return aud
}

// addWindow returns old with the window w added and the windows that
// expired by now dropped, or nil when w adds nothing: an oid or client
// entry refuses the tokens issued at or before revokedAt until expiresAt,
// so a window both older and shorter-lived than another is covered by it.
func addWindow(old *revEntry, w window, now, skew int64) *revEntry {
	covers := func(a, b window) bool { return a.revokedAt >= b.revokedAt && a.expiresAt >= b.expiresAt }
	ws := append([]window{old.w}, old.more...)
	for _, have := range ws {
		if live(have.expiresAt, now, skew) && covers(have, w) {
			return nil
		}
	}
	kept := []window{w}
	for _, have := range ws {
		if live(have.expiresAt, now, skew) && !covers(w, have) {
			kept = append(kept, have)
		}
	}
	n := &revEntry{kind: old.kind, w: kept[0]}
	if len(kept) > 1 {
		n.more = kept[1:]
	}
	for _, k := range kept {
		n.expiry = max(n.expiry, k.expiresAt)
	}
	return n
}

// remove drops e from the table and the heap.
func (x *revocationIndex) remove(e *revEntry) {
	t := x.table.Load()
	x.replace(t, e, nil)
	last := len(x.heap) - 1
	i := e.heapAt
	if i != last {
		x.heap[i] = x.heap[last]
		x.heap[i].heapAt = i
	}
	x.heap[last] = nil
	x.heap = x.heap[:last]
	if i != last {
		x.fix(i)
	}
	x.held[e.kind].Add(-1)
	if n := x.count.Add(-1); len(t.buckets) > minBuckets && float64(n) < float64(len(t.buckets))*minLoad {
		x.resize(len(t.buckets) / 2)
	}
}

// replace publishes the bucket of a key with old replaced by n (old nil:
// n added; n nil: old removed). Readers see the bucket before or after,
// never in between.
func (x *revocationIndex) replace(t *revTable, old, n *revEntry) {
	key := n
	if key == nil {
		key = old
	}
	h := x.hash(key.kind, key.value, key.aud)
	slot := &t.buckets[h&t.mask]
	var slots []revSlot
	if b := slot.Load(); b != nil {
		slots = make([]revSlot, 0, len(b.slots)+1)
		for _, s := range b.slots {
			if s.e != old {
				slots = append(slots, s)
			}
		}
	}
	if n != nil {
		slots = append(slots, revSlot{h, n})
	}
	if len(slots) == 0 {
		slot.Store(nil)
		return
	}
	slot.Store(&revBucket{slots: slots})
}

// resize publishes a table of n buckets holding every entry. Readers of
// the old table go on reading it; the writer never changes it again.
func (x *revocationIndex) resize(n int) {
	old := x.table.Load()
	lists := make([][]revSlot, n)
	for i := range old.buckets {
		if b := old.buckets[i].Load(); b != nil {
			for _, s := range b.slots {
				j := s.hash & uint64(n-1)
				lists[j] = append(lists[j], s)
			}
		}
	}
	t := newRevTable(n)
	for i, l := range lists {
		if l != nil {
			t.buckets[i].Store(&revBucket{slots: l})
		}
	}
	x.table.Store(t)
}

// The expiry heap: a binary min-heap on revEntry.expiry whose entries know
// their place (heapAt), so that one can be replaced or removed in place.

func (x *revocationIndex) fix(i int) {
	if !x.up(i) {
		x.down(i)
	}
}

func (x *revocationIndex) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if x.heap[p].expiry <= x.heap[i].expiry {
			break
		}
		x.swap(i, p)
		i, moved = p, true
	}
	return moved
}

func (x *revocationIndex) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(x.heap) && x.heap[l].expiry < x.heap[small].expiry {
			small = l
		}
		if r := l + 1; r < len(x.heap) && x.heap[r].expiry < x.heap[small].expiry {
			small = r
		}
		if small == i {
			return
		}
		x.swap(i, small)
		i = small
	}
}

func (x *revocationIndex) swap(i, j int) {
	x.heap[i], x.heap[j] = x.heap[j], x.heap[i]
	x.heap[i].heapAt, x.heap[j].heapAt = i, j
}
