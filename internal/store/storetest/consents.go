package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

func testConsentRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	mine := newConsent("a", "client-1", "api-1", "user-1", t0, "read", "write")
	must(t, s.PutConsent(ctx, "a", mine))
	got, err := s.ListConsents(ctx, "a", "client-1", "user-1")
	must(t, err)
	wantEqual(t, got, []directory.ConsentGrant{mine})

	// A second consent of the same principal to the same client for the
	// same resource merges into the first: the scopes it holds keep their
	// place, new ones follow, none twice; the creation time stays.
	more := newConsent("a", "client-1", "api-1", "user-1", at(5), "write", "admin", "admin", "Read")
	must(t, s.PutConsent(ctx, "a", more))
	mine.Scopes = []string{"read", "write", "admin", "Read"} // scope values are case-sensitive
	mine.UpdatedAt = more.UpdatedAt

	// A new grant without scopes reads back with an empty list, and a
	// repeated scope is kept once.
	noScopes := newConsent("a", "client-1", "api-2", "user-1", at(3))
	noScopes.Scopes = nil
	must(t, s.PutConsent(ctx, "a", noScopes))
	noScopes.Scopes = []string{}
	twice := newConsent("a", "client-1", "api-3", "user-3", at(4), "x", "x")
	must(t, s.PutConsent(ctx, "a", twice))
	twice.Scopes = []string{"x"}

	admin := newConsent("a", "client-1", "api-3", directory.AllPrincipals, at(1), "read")
	other := newConsent("a", "client-1", "api-1", "user-2", at(2), "read")
	otherClient := newConsent("a", "client-2", "api-1", "user-1", t0, "read")
	for _, c := range []directory.ConsentGrant{admin, other, otherClient} {
		must(t, s.PutConsent(ctx, "a", c))
	}

	for _, tc := range []struct {
		name              string
		client, principal string
		want              []directory.ConsentGrant
	}{
		{"a user's own and the admin consents", "client-1", "user-1", []directory.ConsentGrant{mine, admin, noScopes}},
		{"a user without consent of their own", "client-1", "user-9", []directory.ConsentGrant{admin}},
		{"every consent to a client", "client-1", "", []directory.ConsentGrant{mine, admin, other, noScopes, twice}},
		{"another client", "client-2", "", []directory.ConsentGrant{otherClient}},
		{"a client without consent", "client-9", "", []directory.ConsentGrant{}},
	} {
		got, err := s.ListConsents(ctx, "a", tc.client, tc.principal)
		must(t, err)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %d grants, want %d", tc.name, len(got), len(tc.want))
		}
		wantEqual(t, got, tc.want)
	}

	// Deleting withdraws the whole grant, once.
	must(t, s.DeleteConsent(ctx, "a", "client-1", "api-1", "user-1"))
	wantErr(t, s.DeleteConsent(ctx, "a", "client-1", "api-1", "user-1"), directory.ErrNotFound)
	got, err = s.ListConsents(ctx, "a", "client-1", "user-1")
	must(t, err)
	wantEqual(t, got, []directory.ConsentGrant{admin, noScopes})
	// …and a later consent starts afresh.
	again := newConsent("a", "client-1", "api-1", "user-1", at(9), "read")
	must(t, s.PutConsent(ctx, "a", again))
	got, err = s.ListConsents(ctx, "a", "client-1", "user-1")
	must(t, err)
	wantEqual(t, got, []directory.ConsentGrant{admin, noScopes, again})
}

func testConsentErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, s.PutConsent(ctx, "a", newConsent("a", "client-1", "api-1", "user-1", t0)), directory.ErrNotFound)
	addTenant(t, s, "a")
	wantErr(t, s.DeleteConsent(ctx, "a", "client-1", "api-1", "user-1"), directory.ErrNotFound)
	if err := s.PutConsent(ctx, "a", newConsent("b", "client-1", "api-1", "user-1", t0)); err == nil {
		t.Fatal("PutConsent accepted a consent of tenant b in tenant a")
	}
	got, err := s.ListConsents(ctx, "a", "client-1", "")
	must(t, err)
	wantEqual(t, got, []directory.ConsentGrant{})
}
