package e2e

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/directory"
)

// feedEnv is a secEnv with a second API (the management API), which the
// native client may use for every user, and a guard of the two APIs that
// follows the tenant's revocation feed when told (PollNow).
type feedEnv struct {
	*secEnv
	mgmt  directory.Application
	guard *guard.Guard
}

func newFeedEnv(t *testing.T) *feedEnv {
	t.Helper()
	e := &feedEnv{secEnv: newSecEnv(t)}
	ctx := context.Background()
	d := e.h.srv.Directory
	var err error
	if e.mgmt, err = d.CreateApplication(ctx, e.tid, directory.ApplicationSpec{DisplayName: "Management API",
		IdentifierURIs: []string{"api://management"}, Scopes: []directory.Scope{{Value: "manage", Enabled: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateServicePrincipal(ctx, e.tid, directory.ServicePrincipalSpec{AppID: e.mgmt.AppID}); err != nil {
		t.Fatal(err)
	}
	q, err := d.ParseScopes(ctx, e.tid, "api://management/manage", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Consent(ctx, e.tid, e.native.AppID, directory.AllPrincipals, q); err != nil {
		t.Fatal(err)
	}
	e.guard, err = guard.New(ctx, guard.Config{Authority: e.h.srv.URL + "/" + e.tid + "/v2.0", Audiences: []string{e.api.AppID, e.mgmt.AppID},
		HTTPClient: e.h.http, RevocationPollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.guard.Close)
	return e
}

// signIn is alice's sign-in to the native client (authorization code with
// PKCE and offline_access), for the studies API: its tokens and sid.
func (e *feedEnv) signIn(t *testing.T) (access, refresh, sid string) {
	t.Helper()
	status, body := e.token(e.tid, e.redeemForm(e.code(t, e.signedIn(t, e.tid), e.tid, nil).Get("code")))
	wantTokens(t, status, body)
	access, refresh = body["access_token"].(string), body["refresh_token"].(string)
	return access, refresh, claimsOf(t, access)["sid"].(string)
}

// refresh redeems rt for scope ("": the grant's first resource) and
// returns the new pair.
func (e *feedEnv) refresh(t *testing.T, rt, scope string) (access, refresh string) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.AppID}, "refresh_token": {rt}}
	if scope != "" {
		form.Set("scope", scope)
	}
	status, body := e.token(e.tid, form)
	wantTokens(t, status, body)
	return body["access_token"].(string), body["refresh_token"].(string)
}

// accepted polls the feed and reports whether the guard accepts tok; a
// refusal for any other reason than revocation fails the test.
func (e *feedEnv) accepted(t *testing.T, tok string) bool {
	t.Helper()
	if err := e.guard.PollNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := e.guard.Validate(context.Background(), tok)
	var ge *guard.Error
	switch {
	case err == nil:
		return true
	case errors.As(err, &ge) && ge.Reason == guard.ReasonRevoked:
		return false
	default:
		t.Fatalf("the guard refused the token for another reason: %v", err)
		return false
	}
}

// feedSize counts the live entries of the tenant's revocation feed, as a
// guard starting now reads them.
func (e *feedEnv) feedSize(t *testing.T) int {
	t.Helper()
	n, after := 0, "0"
	for {
		page := getJSON(t, e.h, "/"+e.tid+"/oauth2/v2.0/revocations?limit=1000&after="+after)
		list, _ := page["revocations"].([]any)
		if len(list) == 0 {
			return n
		}
		n += len(list)
		after = strconv.FormatInt(int64(page["next"].(float64)), 10)
	}
}

// Issue 13 item 7 (M4): every refresh used to put the rotated pair's
// access token on the revocation feed by jti, so one user refreshing in a
// loop grew the feed, every guard's memory and the cost of every poll and
// introspection by one entry per refresh. Now a refresh replaces its
// sign-in's entry for the API: after 500 refreshes of one sign-in the feed
// holds one entry more than before, a guard that followed it all along
// holds one, and the tokens the refreshes replaced are still refused.
func TestRefreshFloodKeepsTheFeedSmall(t *testing.T) {
	e := newFeedEnv(t)
	first, rt, _ := e.signIn(t)
	before := e.feedSize(t)
	const n = 500
	var middle, last string
	for i := range n {
		last, rt = e.refresh(t, rt, "")
		if i == n/2 {
			middle = last
		}
		if i%50 == 0 {
			// The guard polls as the refreshes go, as one following the
			// feed at its interval does.
			if err := e.guard.PollNow(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if after := e.feedSize(t); after-before > 1 {
		t.Errorf("the feed grew from %d to %d entries over %d refreshes of one sign-in, want at most one more", before, after, n)
	}
	if !e.accepted(t, last) {
		t.Fatal("the newest access token is refused")
	}
	if held := e.guard.RevocationsHeld(); held > 1 {
		t.Errorf("the guard holds %d revocations after %d refreshes of one sign-in, want at most 1", held, n)
	}
	for name, tok := range map[string]string{"first": first, "middle": middle} {
		if e.accepted(t, tok) {
			t.Errorf("the guard accepts the %s access token, which a refresh replaced", name)
		}
		if e.introspect(t, tok) {
			t.Errorf("introspection says the %s access token, which a refresh replaced, is active", name)
		}
	}
	if !e.introspect(t, last) {
		t.Error("introspection says the newest access token is inactive")
	}
}

// Issue 13 item 8: a refresh token redeemed for the management API used to
// revoke the access token the same sign-in held for the studies API, which
// the Azure CLI and MSAL go on serving from their caches: the API refused
// a user who had done nothing wrong. A refresh replaces the access token
// it supersedes, of the same client and resource, and no other.
func TestRefreshForAnotherAPIKeepsTheFirstAPIsToken(t *testing.T) {
	e := newFeedEnv(t)
	studies, rt, _ := e.signIn(t)
	if aud := claimsOf(t, studies)["aud"]; aud != e.api.AppID {
		t.Fatalf("the sign-in's token is for %v, want the studies API", aud)
	}
	mgmt, rt := e.refresh(t, rt, "api://management/manage")
	if aud := claimsOf(t, mgmt)["aud"]; aud != e.mgmt.AppID {
		t.Fatalf("the refresh gave a token for %v, want the management API", aud)
	}
	if !e.accepted(t, studies) {
		t.Error("after a refresh for the management API, the guard refuses the studies API token")
	}
	if !e.introspect(t, studies) {
		t.Error("after a refresh for the management API, introspection says the studies API token is inactive")
	}

	// A refresh for the studies API does replace its token, and only it.
	studies2, _ := e.refresh(t, rt, "api://studies/read")
	if e.accepted(t, studies) {
		t.Error("after a refresh for the studies API, the guard accepts the studies token it replaced")
	}
	if e.introspect(t, studies) {
		t.Error("after a refresh for the studies API, introspection says the token it replaced is active")
	}
	for name, tok := range map[string]string{"new studies API": studies2, "management API": mgmt} {
		if !e.accepted(t, tok) {
			t.Errorf("after a refresh for the studies API, the guard refuses the %s token", name)
		}
		if !e.introspect(t, tok) {
			t.Errorf("after a refresh for the studies API, introspection says the %s token is inactive", name)
		}
	}
}
