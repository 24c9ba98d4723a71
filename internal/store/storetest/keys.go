package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/token"
)

func newKey(id, state string, created time.Time) token.KeyRecord {
	k := token.KeyRecord{
		ID:        id,
		Alg:       "ES256",
		State:     state,
		Sealed:    []byte("sealed " + id),
		CertDER:   []byte{0x30, 0x82, byte(len(id))},
		CreatedAt: created,
	}
	if state == token.KeyActive {
		k.ActivatedAt = created
	}
	return k
}

// initialKeys is a fresh key set: one active, one next, made a second
// apart.
func initialKeys(prefix string) []token.KeyRecord {
	return []token.KeyRecord{newKey(prefix+"-active", token.KeyActive, t0), newKey(prefix+"-next", token.KeyNext, at(1))}
}

func listKeys(t *testing.T, s store.Store) []token.KeyRecord {
	t.Helper()
	keys, err := s.ListSigningKeys(t.Context())
	must(t, err)
	return keys
}

func testInitSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantEqual(t, listKeys(t, s), []token.KeyRecord{})

	keys := initialKeys("k")
	ok, err := s.InitSigningKeys(ctx, keys)
	must(t, err)
	if !ok {
		t.Fatal("InitSigningKeys on an empty store reported false")
	}
	newestFirst := []token.KeyRecord{keys[1], keys[0]}
	wantEqual(t, listKeys(t, s), newestFirst)

	ok, err = s.InitSigningKeys(ctx, initialKeys("other"))
	must(t, err)
	if ok {
		t.Fatal("InitSigningKeys on a store with keys reported true")
	}
	wantEqual(t, listKeys(t, s), newestFirst)
}

func testRotateSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	keys := initialKeys("k")
	_, err := s.InitSigningKeys(ctx, keys)
	must(t, err)
	active, next := keys[0], keys[1]

	// First rotation: active retires, next activates, a new next arrives.
	now := at(3600)
	publishUntil := now.Add(2 * time.Hour)
	next2 := newKey("k-next-2", token.KeyNext, now)
	must(t, s.RotateSigningKeys(ctx, active.ID, publishUntil, next2, now))
	retired := active
	retired.State, retired.PublishUntil = token.KeyRetired, publishUntil
	activated := next
	activated.State, activated.ActivatedAt = token.KeyActive, now
	wantEqual(t, listKeys(t, s), []token.KeyRecord{next2, activated, retired})

	// A rotation from the key that was active loses, and changes nothing.
	err = s.RotateSigningKeys(ctx, active.ID, publishUntil, newKey("k-lost", token.KeyNext, now), now)
	wantErr(t, err, token.ErrKeysChanged)
	wantEqual(t, listKeys(t, s), []token.KeyRecord{next2, activated, retired})

	// Second rotation, after the first retired key's PublishUntil: that key
	// leaves, the one retired now stays until its own.
	now2 := publishUntil.Add(time.Second)
	next3 := newKey("k-next-3", token.KeyNext, now2)
	must(t, s.RotateSigningKeys(ctx, activated.ID, now2.Add(time.Hour), next3, now2))
	retired2 := activated
	retired2.State, retired2.PublishUntil = token.KeyRetired, now2.Add(time.Hour)
	activated2 := next2
	activated2.State, activated2.ActivatedAt = token.KeyActive, now2
	wantEqual(t, listKeys(t, s), []token.KeyRecord{next3, activated2, retired2})
}

// countStates counts keys by state.
func countStates(keys []token.KeyRecord) map[string]int {
	n := map[string]int{}
	for _, k := range keys {
		n[k.State]++
	}
	return n
}

func keyIDs(keys []token.KeyRecord) string {
	var s string
	for _, k := range keys {
		s += fmt.Sprintf(" %s(%s)", k.ID, k.State)
	}
	return s
}
