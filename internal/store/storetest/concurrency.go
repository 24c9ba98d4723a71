package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/token"
)

// These tests start real goroutines together on one store. Besides the
// outcome each checks, any error other than the expected one fails them: an
// engine may not surface lock contention ("database is locked") to callers.

func testConcurrentConsumeOnce(t *testing.T, s store.Store) {
	errs := race(32, func(int) error { return s.ConsumeOnce(t.Context(), "a", "jti-1", farAhead) })
	if ok, replays := outcomes(t, errs, directory.ErrReplay); ok != 1 || replays != 31 {
		t.Fatalf("%d of 32 calls succeeded and %d were replays, want 1 and 31", ok, replays)
	}
}

func testConcurrentInitSigningKeys(t *testing.T, s store.Store) {
	const n = 8
	stored := make([]bool, n)
	errs := race(n, func(i int) error {
		var err error
		stored[i], err = s.InitSigningKeys(t.Context(), initialKeys(fmt.Sprint("g", i)))
		return err
	})
	outcomes(t, errs, nil)
	winner := -1
	for i, ok := range stored {
		if ok {
			if winner >= 0 {
				t.Fatalf("callers %d and %d both stored their keys", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no caller stored its keys")
	}
	keys := initialKeys(fmt.Sprint("g", winner))
	wantEqual(t, listKeys(t, s), []token.KeyRecord{keys[1], keys[0]})
}

func testConcurrentRotateSigningKeys(t *testing.T, s store.Store) {
	keys := initialKeys("k")
	_, err := s.InitSigningKeys(t.Context(), keys)
	must(t, err)
	now := at(3600)
	const n = 8
	errs := race(n, func(i int) error {
		return s.RotateSigningKeys(t.Context(), keys[0].ID, now.AddDate(0, 0, 1),
			newKey(fmt.Sprint("new-", i), token.KeyNext, now), now)
	})
	if ok, lost := outcomes(t, errs, token.ErrKeysChanged); ok != 1 || lost != n-1 {
		t.Fatalf("%d rotations succeeded and %d lost, want 1 and %d", ok, lost, n-1)
	}
	final := listKeys(t, s)
	if c := countStates(final); len(final) != 3 || c[token.KeyActive] != 1 || c[token.KeyNext] != 1 || c[token.KeyRetired] != 1 {
		t.Fatalf("after the rotations the keys are%s, want one retired, one active, one next", keyIDs(final))
	}
	for _, k := range final {
		if k.State == token.KeyActive && k.ID != keys[1].ID {
			t.Fatalf("active key is %s, want the former next key %s", k.ID, keys[1].ID)
		}
	}
}

func testConcurrentCreateServicePrincipal(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	const n = 16
	errs := race(n, func(i int) error {
		return s.CreateServicePrincipal(t.Context(), "a", newSP("a", fmt.Sprint("sp-", i), "app-1", t0))
	})
	if ok, conflicts := outcomes(t, errs, directory.ErrConflict); ok != 1 || conflicts != n-1 {
		t.Fatalf("%d creates succeeded and %d conflicted, want 1 and %d", ok, conflicts, n-1)
	}
	sps, err := s.ListServicePrincipals(t.Context(), "a")
	must(t, err)
	if len(sps) != 1 {
		t.Fatalf("%d service principals stored, want 1", len(sps))
	}
}

// Readers and writers of several kinds at once all succeed, and every
// write is visible once its call returns.
func testConcurrentReadersAndWriters(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	const n = 16
	errs := race(2*n, func(i int) error {
		ctx := t.Context()
		if i%2 == 1 { // readers
			for range 10 {
				if _, err := s.ListApplications(ctx, "a"); err != nil {
					return err
				}
				if _, err := s.ListSigningKeys(ctx); err != nil {
					return err
				}
			}
			return nil
		}
		app := newApp("a", fmt.Sprint("app-", i), at(i), fmt.Sprint("api://", i))
		if err := s.CreateApplication(ctx, "a", app); err != nil {
			return err
		}
		if err := s.AddCredential(ctx, "a", newSecret("a", app.AppID, "k", t0)); err != nil {
			return err
		}
		if err := s.ConsumeOnce(ctx, "a", app.AppID, farAhead); err != nil {
			return err
		}
		got, err := s.GetApplicationByIdentifierURI(ctx, "a", app.IdentifierURIs[0])
		if err != nil {
			return err
		}
		if got.AppID != app.AppID {
			return errors.New("read back another application")
		}
		return nil
	})
	outcomes(t, errs, nil)
	apps, err := s.ListApplications(t.Context(), "a")
	must(t, err)
	if len(apps) != n {
		t.Fatalf("%d applications stored, want %d", len(apps), n)
	}
}
