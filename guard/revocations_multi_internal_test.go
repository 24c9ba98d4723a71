package guard

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard/guardtest"
)

// TestTenantFeedsBoundAndIdle: a guard on a multi-tenant authority follows
// at most RevocationTenants feeds. At the bound, a token of a new tenant
// takes the place of the feed unused longest, if one has gone unused for a
// sweep, or is refused as unchecked (503); a feed unused for
// tenantFeedIdleSweeps sweeps stops; a tenant whose feed stopped is read
// whole again at its next token.
func TestTenantFeedsBoundAndIdle(t *testing.T) {
	idp := guardtest.NewAuthority(t)
	const api = "a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f"
	g, err := New(context.Background(), Config{
		Authority: idp.Base() + "/common/v2.0", Audiences: []string{api}, HTTPClient: idp.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RevocationPollInterval: time.Hour, RevocationTenants: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	tf := g.tenantRevs
	if tf == nil {
		t.Fatal("a multi-tenant authority's feed template is not followed")
	}
	tenant := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		tenant[name] = guardtest.NewGUID()
		idp.AddTenant(tenant[name])
	}
	token := func(name string) string {
		c := idp.V2Claims(api)
		c["tid"], c["iss"] = tenant[name], idp.Base()+"/"+tenant[name]+"/v2.0"
		return idp.Mint(t, c)
	}
	validate := func(name string) error {
		_, err := g.Validate(context.Background(), token(name))
		return err
	}
	followed := func(names ...string) {
		t.Helper()
		var want []string
		for _, n := range names {
			want = append(want, tenant[n])
		}
		got := tf.tenants()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("followed %v, want %v", got, want)
		}
	}

	if err := errors.Join(validate("a"), validate("b")); err != nil {
		t.Fatal(err)
	}
	followed("a", "b")
	// Both were used since the last sweep: no room for c.
	var e *Error
	if err := validate("c"); !errors.As(err, &e) || e.Reason != ReasonUnavailable || !errors.Is(err, errTooManyTenants) {
		t.Fatalf("a third tenant at the bound of two: %v", err)
	}
	tf.sweep() // a and b: used, now clear
	if err := validate("b"); err != nil {
		t.Fatal(err)
	}
	tf.sweep() // a: unused for one sweep; b used
	if err := validate("c"); err != nil {
		t.Fatalf("a third tenant with an idle feed to replace: %v", err)
	}
	followed("b", "c")

	// b and c fall idle; after tenantFeedIdleSweeps sweeps both stop.
	for range tenantFeedIdleSweeps + 1 {
		tf.sweep()
	}
	followed()
	reads := 0
	for _, r := range idp.FeedRequests() {
		if r.Tenant == tenant["a"] {
			reads++
		}
	}
	if err := validate("a"); err != nil {
		t.Fatal(err)
	}
	followed("a")
	again := 0
	for _, r := range idp.FeedRequests() {
		if r.Tenant == tenant["a"] {
			again++
		}
	}
	if again != reads+1 {
		t.Fatalf("tenant a's feed requests %d then %d: want one full read when it comes back", reads, again)
	}
}
