package account

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// signedIn logs alice in by password and returns her profile.
func signedIn(t *testing.T, f *fakeIdP, uc *userClient, s *Store) Profile {
	t.Helper()
	l := loginFor(f)
	l.Tenant = testDomain
	p, err := uc.LoginPassword(context.Background(), s, l, testUsername, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func storedRT(t *testing.T, s *Store, p Profile) string {
	t.Helper()
	doc, err := s.loadTokensDoc()
	if err != nil {
		t.Fatal(err)
	}
	return doc.RefreshTokens[accountKey(p)].Secret
}

// One refresh token serves any resource: scope at v2, resource at v1. A
// token is served from the cache while it has more than five minutes
// left; then the refresh token is redeemed again, and tessera's rotated
// one is what is stored and presented next (the fake refuses reuse).
func TestUserTokenRefreshesAndRotates(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	s := openTemp(t)
	p := signedIn(t, f, uc, s)
	ctx := context.Background()
	first := storedRT(t, s, p)

	orders := Target{Scope: "api://orders/.default"}
	tok, err := uc.Token(ctx, s, p, orders)
	if err != nil {
		t.Fatal(err)
	}
	rec := f.lastForm()
	if rec.path != "/"+testTenantID+"/oauth2/v2.0/token" || rec.form["grant_type"][0] != "refresh_token" ||
		rec.form["refresh_token"][0] != first || rec.form["scope"][0] != "api://orders/.default openid profile offline_access" {
		t.Errorf("refresh request %s %v", rec.path, rec.form)
	}
	second := storedRT(t, s, p)
	if second == first || second == "" {
		t.Fatalf("refresh token after rotation = %q, want a new one", second)
	}
	if again, _ := uc.Token(ctx, s, p, orders); again.AccessToken != tok.AccessToken || !again.ExpiresOn.Equal(tok.ExpiresOn) || f.refreshCount() != 1 {
		t.Errorf("second call: %+v after %d refreshes, want the cached token", again, f.refreshCount())
	}

	// v1: resource=, at the v1 endpoint, with the rotated token.
	legacy := Target{Resource: "api://legacy"}
	if _, err := uc.Token(ctx, s, p, legacy); err != nil {
		t.Fatal(err)
	}
	rec = f.lastForm()
	if rec.path != "/"+testTenantID+"/oauth2/token" || rec.form["resource"][0] != "api://legacy" || rec.form["scope"] != nil || rec.form["refresh_token"][0] != second {
		t.Errorf("v1 refresh %s %v", rec.path, rec.form)
	}

	uc.clock.Add(time.Duration(f.expiresIn)*time.Second - MinRemaining)
	renewed, err := uc.Token(ctx, s, p, orders)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.AccessToken == tok.AccessToken || f.refreshCount() != 3 {
		t.Errorf("with five minutes left: %+v after %d refreshes, want a fresh token", renewed, f.refreshCount())
	}
}

// Entra may answer a refresh without a new refresh token: the one held
// stays and keeps working.
func TestUserTokenKeepsRefreshTokenWithoutRotation(t *testing.T) {
	f := newFakeIdP(t)
	f.setUser(func(u *userSide) { u.entra = true })
	uc := newUserClient(f)
	s := openTemp(t)
	p := signedIn(t, f, uc, s)
	rt := storedRT(t, s, p)
	for i, target := range []Target{{Scope: "api://a/.default"}, {Scope: "api://b/.default"}} {
		if _, err := uc.Token(context.Background(), s, p, target); err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
	}
	if storedRT(t, s, p) != rt || f.refreshCount() != 2 {
		t.Errorf("refresh token %q after %d refreshes, want %q kept", storedRT(t, s, p), f.refreshCount(), rt)
	}
}

// Refreshes at the same moment are one refresh: goroutines of one client
// share a flight, and clients with their own Store (as two processes
// have) wait for the directory lock and then find the token the first one
// obtained, instead of replaying the rotated refresh token (which the fake,
// like tessera, answers by revoking the sign-in).
func TestConcurrentRefreshIsOneRequest(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ownClient bool // each goroutine has its own Client and Store
	}{{"goroutines of one client", false}, {"separate clients and stores", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIdP(t)
			uc := newUserClient(f)
			s := openTemp(t)
			p := signedIn(t, f, uc, s)
			const n = 8
			tokens := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					c, st := uc.Client, s
					if tc.ownClient {
						var err error
						if st, err = Open(s.Dir()); err != nil {
							errs[i] = err
							return
						}
						c = &Client{HTTP: f.srv.Client(), Now: uc.clock.Now}
					}
					<-start
					tok, err := c.Token(context.Background(), st, p, Target{Scope: "api://orders/.default"})
					tokens[i], errs[i] = tok.AccessToken, err
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("goroutine %d: %v", i, errs[i])
				}
				if tokens[i] != tokens[0] {
					t.Errorf("goroutine %d got %q, goroutine 0 %q", i, tokens[i], tokens[0])
				}
			}
			if got := f.refreshCount(); got != 1 {
				t.Errorf("%d refreshes, want 1", got)
			}
		})
	}
}

// A revoked, expired or reused refresh token (invalid_grant) ends the
// sign-in: the account's tokens are dropped, the profile stays to say
// who to log in as, and the error says to log in again.
func TestRefreshInvalidGrantRequiresLogin(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	s := openTemp(t)
	p := signedIn(t, f, uc, s)
	ctx := context.Background()
	if _, err := uc.Token(ctx, s, p, Target{Scope: "api://a/.default"}); err != nil {
		t.Fatal(err)
	}
	f.setUser(func(u *userSide) {
		for _, st := range u.refresh {
			st.revoked = true
		}
	})
	_, err := uc.Token(ctx, s, p, Target{Scope: "api://b/.default"})
	var lr *LoginRequiredError
	var se *ServerError
	if !errors.As(err, &lr) || !errors.As(err, &se) || se.Code != "invalid_grant" || !strings.Contains(err.Error(), "log in again") {
		t.Fatalf("err = %v, want a LoginRequiredError carrying invalid_grant", err)
	}
	doc, _ := s.loadTokensDoc()
	if len(doc.RefreshTokens) != 0 || len(doc.Tokens) != 0 {
		t.Errorf("tokens left after invalid_grant: %+v", doc)
	}
	if _, err := s.Current(); err != nil {
		t.Errorf("profile gone: %v", err)
	}
	// Nothing left to present: no request is made.
	n := f.formCount()
	if _, err := uc.Token(ctx, s, p, Target{Scope: "api://a/.default"}); !errors.As(err, &lr) || f.formCount() != n {
		t.Errorf("after the drop: %v after %d requests, want a LoginRequiredError and none", err, f.formCount()-n)
	}
}

// Missing consent for one resource is not the end of the sign-in: the
// refresh token stays, and the error says to sign in asking for it.
func TestRefreshConsentRequiredKeepsSignIn(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	s := openTemp(t)
	p := signedIn(t, f, uc, s)
	f.setUser(func(u *userSide) { u.consentless["api://secret/.default"] = true; u.consentless["api://secret"] = true })
	for _, target := range []Target{{Scope: "api://secret/.default"}, {Resource: "api://secret"}} {
		_, err := uc.Token(context.Background(), s, p, target)
		var cr *ConsentRequiredError
		if !errors.As(err, &cr) || !strings.Contains(err.Error(), "tessera login --scope api://secret/.default") {
			t.Errorf("%v: err = %v, want a ConsentRequiredError naming the scope", target, err)
		}
	}
	if storedRT(t, s, p) == "" {
		t.Error("the refresh token was dropped")
	}
	if _, err := uc.Token(context.Background(), s, p, Target{Scope: "api://orders/.default"}); err != nil {
		t.Errorf("another resource: %v", err)
	}
}

// Two people on the same client and tenant are two accounts: their
// tokens and refresh tokens stay apart, and logging one out leaves the
// other.
func TestTwoUsersStayApart(t *testing.T) {
	s := openTemp(t)
	alice := Profile{Type: User, Authority: "https://id.example.com", Tenant: testTenantID, TenantID: testTenantID,
		ClientID: testCLIClientID, Username: "alice", ObjectID: testUserOID, HomeTenantID: testTenantID}
	bob := alice
	bob.Username, bob.ObjectID = "bob", "0a0b0c0d-0000-4000-8000-000000000001"
	target := Target{Scope: "api://x/.default"}
	for _, p := range []Profile{alice, bob} {
		tok := Token{AccessToken: "at-" + p.Username, ExpiresOn: fixedNow.Add(time.Hour)}
		if err := s.SaveUser(p, "rt-"+p.Username, &target, tok, fixedNow); err != nil {
			t.Fatal(err)
		}
	}
	ps, _ := s.Profiles()
	if len(ps) != 2 {
		t.Fatalf("%d profiles, want 2", len(ps))
	}
	if tok, ok, _ := s.CachedToken(alice, target, fixedNow); !ok || tok.AccessToken != "at-alice" {
		t.Errorf("alice's token = %+v, %v", tok, ok)
	}
	if found, err := s.SetDefault(alice); !found || err != nil {
		t.Fatalf("SetDefault = %v, %v", found, err)
	}
	if cur, _ := s.Current(); cur.Username != "alice" {
		t.Errorf("default = %s, want alice", cur.Username)
	}
	if _, err := s.RemoveProfile(alice); err != nil {
		t.Fatal(err)
	}
	if storedRT(t, s, bob) != "rt-bob" || storedRT(t, s, alice) != "" {
		t.Error("logging alice out touched bob's refresh token, or left hers")
	}
	if _, ok, _ := s.CachedToken(bob, target, fixedNow); !ok {
		t.Error("logging alice out removed bob's token")
	}
	if cur, _ := s.Current(); cur.Username != "bob" {
		t.Errorf("after alice's logout the default is %q, want bob", cur.Username)
	}
}

// RFC 7009 §2.1: logout posts the refresh token, its type hint and the
// client id to the advertised revocation endpoint, then forgets the
// account; without an endpoint (Entra) it only forgets.
func TestLogoutRevokes(t *testing.T) {
	for _, entra := range []bool{false, true} {
		t.Run(fmt.Sprintf("entra=%v", entra), func(t *testing.T) {
			f := newFakeIdP(t)
			f.setUser(func(u *userSide) { u.entra = entra })
			uc := newUserClient(f)
			s := openTemp(t)
			p := signedIn(t, f, uc, s)
			rt := storedRT(t, s, p)
			revoked, revokeErr, err := uc.Logout(context.Background(), s, p)
			if err != nil || revokeErr != nil || revoked == entra {
				t.Fatalf("Logout = %v, %v, %v", revoked, revokeErr, err)
			}
			f.mu.Lock()
			calls := append([]url.Values(nil), f.user.revoked...)
			f.mu.Unlock()
			if entra {
				if len(calls) != 0 {
					t.Errorf("revocation requests without an endpoint: %v", calls)
				}
			} else if len(calls) != 1 || calls[0].Get("token") != rt || calls[0].Get("token_type_hint") != "refresh_token" || calls[0].Get("client_id") != testCLIClientID {
				t.Errorf("revocation requests %v", calls)
			}
			if _, err := s.Current(); !errors.Is(err, ErrNotLoggedIn) {
				t.Errorf("after logout Current() = %v", err)
			}
			if storedRT(t, s, p) != "" {
				t.Error("the refresh token survived logout")
			}
			if !entra {
				// The revoked token no longer works at the server.
				_, err := uc.redeemRefreshTokenForTest(p, rt)
				var se *ServerError
				if !errors.As(err, &se) || se.Code != "invalid_grant" {
					t.Errorf("revoked refresh token: %v, want invalid_grant", err)
				}
			}
		})
	}
}

func (uc *userClient) redeemRefreshTokenForTest(p Profile, rt string) (Token, error) {
	tok, _, err := uc.redeemRefreshToken(context.Background(), p, Target{Scope: "api://x/.default"}, rt)
	return tok, err
}

// Logging out forgets the account even when the server cannot be reached
// to revoke, and says so.
func TestLogoutForgetsWhenRevocationFails(t *testing.T) {
	f := newFakeIdP(t)
	uc := newUserClient(f)
	s := openTemp(t)
	p := signedIn(t, f, uc, s)
	f.srv.Close()
	revoked, revokeErr, err := uc.Logout(context.Background(), s, p)
	if revoked || revokeErr == nil || err != nil {
		t.Fatalf("Logout = %v, %v, %v; want only an error saying revocation failed", revoked, revokeErr, err)
	}
	if _, err := s.Current(); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("the account survived: %v", err)
	}
}
