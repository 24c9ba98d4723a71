package oauth_test

import (
	"net/url"
	"os"
	"testing"
)

// TestRefreshStops is the fixture of the "stops" measurement of issue 14
// (how many of the project's functions one request walks through): it
// runs one refresh after the tokens it refreshes, and with
// TESSERA_STOPS_LAST=1 one more. The blocks whose count grew between the
// two coverage profiles (covermode=count) are what the last refresh alone
// entered; each belongs to the function it lies in (bench/stops.sh runs
// both and names the functions).
//
// Without those variables it runs in the suite like any test: the tokens
// and the refresh it measures must succeed, so the measurement can never
// be taken on a path that fails.
//
// TESSERA_STOPS_SCOPE names a scope on the measured refresh, as MSAL
// does. TESSERA_STOPS_GRANT=client_credentials measures a client-credentials
// request instead, the yardstick.
func TestRefreshStops(t *testing.T) {
	f := newFixture(t)
	if os.Getenv("TESSERA_STOPS_GRANT") == "client_credentials" {
		// The yardstick: the same measurement of a client-credentials
		// request.
		cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret},
			"scope": {"api://studies/.default"}}
		n := 1
		if os.Getenv("TESSERA_STOPS_LAST") == "1" {
			n = 2
		}
		for range n {
			if r := f.token(cc); r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		}
		return
	}
	first, _ := f.tokensFor(fullScope)
	// A first refresh warms what is cached once per process, as on a
	// server that has been running.
	second := f.refresh(f.public.AppID, first.str("refresh_token"), nil)
	if second.status != 200 {
		t.Fatalf("%d %s", second.status, second.raw)
	}
	if os.Getenv("TESSERA_STOPS_LAST") != "1" {
		return
	}
	var extra url.Values
	if scope := os.Getenv("TESSERA_STOPS_SCOPE"); scope != "" {
		// As MSAL sends it: the scope again on every refresh.
		extra = url.Values{"scope": {scope}}
	}
	if r := f.refresh(f.public.AppID, second.str("refresh_token"), extra); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}
