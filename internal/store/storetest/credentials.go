package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

func testCredentialRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	must(t, s.CreateApplication(ctx, "a", newApp("a", "app-1", t0)))
	must(t, s.CreateApplication(ctx, "a", newApp("a", "app-2", t0)))

	// Listed by creation time, then key id.
	cert := newCertificate("a", "app-1", "k-cert", at(2))
	secretB := newSecret("a", "app-1", "k-b", at(1))
	secretA := newSecret("a", "app-1", "k-a", at(1))
	other := newSecret("a", "app-2", "k-a", at(0)) // same key id, other app
	for _, c := range []directory.Credential{cert, secretB, secretA, other} {
		must(t, s.AddCredential(ctx, "a", c))
	}
	got, err := s.ListCredentials(ctx, "a", "app-1")
	must(t, err)
	wantEqual(t, got, []directory.Credential{secretA, secretB, cert})

	must(t, s.DeleteCredential(ctx, "a", "app-1", "k-a"))
	got, err = s.ListCredentials(ctx, "a", "app-1")
	must(t, err)
	wantEqual(t, got, []directory.Credential{secretB, cert})
	got, err = s.ListCredentials(ctx, "a", "app-2")
	must(t, err)
	wantEqual(t, got, []directory.Credential{other})
}

func testCredentialErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	must(t, s.CreateApplication(ctx, "a", newApp("a", "app-1", t0)))
	c := newSecret("a", "app-1", "k1", t0)
	must(t, s.AddCredential(ctx, "a", c))

	wantErr(t, s.AddCredential(ctx, "a", newCertificate("a", "app-1", "k1", t0)), directory.ErrConflict)
	// A credential belongs to an application that exists.
	wantErr(t, s.AddCredential(ctx, "a", newSecret("a", "missing", "k2", t0)), directory.ErrNotFound)
	wantErr(t, s.DeleteCredential(ctx, "a", "app-1", "missing"), directory.ErrNotFound)
	wantErr(t, s.DeleteCredential(ctx, "a", "missing", "k1"), directory.ErrNotFound)

	got, err := s.ListCredentials(ctx, "a", "app-1")
	must(t, err)
	wantEqual(t, got, []directory.Credential{c})
	got, err = s.ListCredentials(ctx, "a", "missing")
	must(t, err)
	wantEqual(t, got, []directory.Credential{})
}
