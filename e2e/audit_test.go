package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
)

// TestAuditLog drives sign-ins (a wrong password and the right one, on
// the sign-in page and through the password grant), client credentials,
// a code redemption and a refresh, an admin change through the CLI and a
// logout; then finds each in the audit log through `tessera admin audit
// list`, remote and local, with the right fields; and finally checks that
// no token, secret or password the test saw is in any log line or audit
// row.
func TestAuditLog(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	tid := h.tenant()
	ctx := context.Background()
	const wrongPassword = "not alice's password, but close"
	var seen []string // every token, secret, password and code handled

	// Sign-in page: a wrong password, then the right one, in one browser.
	conf := u.oauth2Config(h)
	verifier, state := oauth2.GenerateVerifier(), randomString(t)
	b := h.newBrowser(t)
	p, next := b.get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if next != nil || p.kind != "signin" {
		t.Fatalf("authorize showed %q, or redirected to %v", p.kind, next)
	}
	p, next = b.submit(p.form(t, "signin"), url.Values{"username": {"alice"}, "password": {wrongPassword}}, "")
	if next != nil || p.kind != "signin" {
		t.Fatalf("a wrong password led to %q %v", p.kind, next)
	}
	_, next = b.walk(p, next, "alice", alicePassword)
	code := next.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", next)
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, h.http)
	tok, err := conf.Exchange(octx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	seen = append(seen, alicePassword, wrongPassword, code, verifier, tok.AccessToken, tok.RefreshToken, idToken)

	// A refresh.
	status, body, _ := h.postForm("/"+tid+"/oauth2/v2.0/token", u.refreshForm(tok.RefreshToken), "", "")
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	refreshed := body["refresh_token"].(string)
	seen = append(seen, refreshed, body["access_token"].(string))
	// The same refresh retried within the grace window: the same answer,
	// recorded as a replay.
	if status, again, _ := h.postForm("/"+tid+"/oauth2/v2.0/token", u.refreshForm(tok.RefreshToken), "", ""); status != 200 || again["refresh_token"] != refreshed {
		t.Fatalf("retried refresh: %d", status)
	}

	// The password grant with a wrong password.
	if _, err := conf.PasswordCredentialsToken(octx, "alice", wrongPassword+"!"); err == nil {
		t.Fatal("the password grant took a wrong password")
	}
	seen = append(seen, wrongPassword+"!")

	// Client credentials (the bootstrap client) and an admin change
	// through the CLI: a new secret (printed once), and bob disabled.
	adminTok := h.adminToken()
	bs := h.srv.Bootstrap
	seen = append(seen, adminTok, bs.ClientSecret)
	const bobPassword = "bob's password, long enough"
	bob, err := h.srv.Directory.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "bob", Password: bobPassword})
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, bobPassword)
	secret := h.admin(adminTok, "secret", "add", "--id", u.api.AppID, "--tenant", tid)
	secretText, _ := secret["secretText"].(string)
	if secretText == "" {
		t.Fatalf("secret add printed %v", secret)
	}
	seen = append(seen, secretText)
	h.admin(adminTok, "user", "disable", "--id", bob.ObjectID, "--tenant", tid)

	// Logout, confirmed, ends the browser's session and its grant.
	p, _ = b.get(h.srv.URL + "/" + tid + "/oauth2/v2.0/logout")
	if p, _ := b.submit(p.form(t, "logout"), nil, "decision=signout"); p.status != 200 || p.kind != "signed_out" {
		t.Fatalf("logout: %d %q", p.status, p.kind)
	}

	// The audit log through the CLI, remote.
	out, errOut, err := h.cli("admin", "audit", "list", "--since", "1h", "--tenant", tid,
		"--server", h.srv.URL, "--token", adminTok, "--ca-file", h.srv.CAFile)
	if err != nil {
		t.Fatalf("audit list: %v\n%s", err, errOut)
	}
	var events []audit.Event
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		t.Fatalf("audit list printed no JSON array: %v\n%s", err, out)
	}
	find := func(what string, match func(audit.Event) bool) audit.Event {
		t.Helper()
		for _, ev := range events {
			if match(ev) {
				return ev
			}
		}
		t.Errorf("no audit event for %s", what)
		return audit.Event{}
	}
	alice, api, native := u.alice.ObjectID, u.api.AppID, u.native.AppID
	for _, ev := range events {
		if ev.TenantID != tid || ev.ID == "" || ev.Time.IsZero() {
			t.Errorf("event without its tenant, id or time: %+v", ev)
		}
	}
	find("the wrong password on the sign-in page", func(ev audit.Event) bool {
		return ev.Kind == audit.SignInFailure && ev.Reason == "bad_password" && ev.Target == alice &&
			ev.Details["channel"] == "web" && ev.Details["client_id"] == native && ev.Outcome == audit.Failure
	})
	find("the sign-in", func(ev audit.Event) bool {
		return ev.Kind == audit.SignInSuccess && ev.Target == alice && ev.Details["channel"] == "web"
	})
	find("the wrong password on the password grant", func(ev audit.Event) bool {
		return ev.Kind == audit.SignInFailure && ev.Reason == "bad_password" && ev.Details["channel"] == "password_grant"
	})
	code1 := find("the code redeemed", func(ev audit.Event) bool {
		return ev.Kind == audit.TokenIssued && ev.Details["grant_type"] == "authorization_code" && ev.Actor == native &&
			ev.Target == alice && ev.Details["resource"] == api
	})
	find("the refresh", func(ev audit.Event) bool {
		return ev.Kind == audit.TokenIssued && ev.Details["grant_type"] == "refresh_token" && ev.Target == alice &&
			ev.Details["grant_id"] == code1.Details["grant_id"] && ev.Details["grant_id"] != ""
	})
	find("the retried refresh", func(ev audit.Event) bool {
		return ev.Kind == audit.TokenIssued && ev.Details["grant_type"] == "refresh_token" && ev.Details["replay"] == "true" &&
			ev.Target == alice && ev.Details["grant_id"] == code1.Details["grant_id"]
	})
	find("client credentials", func(ev audit.Event) bool {
		return ev.Kind == audit.TokenIssued && ev.Details["grant_type"] == "client_credentials" && ev.Actor == bs.ClientID &&
			ev.Target != "" && ev.Details["resource"] != ""
	})
	find("the secret added", func(ev audit.Event) bool {
		return ev.Kind == "admin.credential.addSecret" && ev.Target == api && ev.Actor != ""
	})
	upd := find("bob disabled", func(ev audit.Event) bool {
		return ev.Kind == "admin.user.update" && ev.Target == bob.ObjectID
	})
	var before, after struct{ AccountEnabled bool }
	if json.Unmarshal(upd.Before, &before) != nil || json.Unmarshal(upd.After, &after) != nil || !before.AccountEnabled || after.AccountEnabled {
		t.Errorf("admin.user.update before %s after %s", upd.Before, upd.After)
	}
	find("bob's grants revoked", func(ev audit.Event) bool { return ev.Kind == audit.RevokeUser && ev.Target == bob.ObjectID })
	find("the logout", func(ev audit.Event) bool {
		return ev.Kind == audit.RevokeLogout && ev.Target == code1.Details["grant_id"]
	})

	// A kind family, remote; the same log read locally from the data
	// folder while the server runs.
	out, errOut, err = h.cli("admin", "audit", "list", "--since", "1h", "--tenant", tid, "--kind", "signin",
		"--server", h.srv.URL, "--token", adminTok, "--ca-file", h.srv.CAFile)
	if err != nil {
		t.Fatalf("audit list --kind signin: %v\n%s", err, errOut)
	}
	var signins []audit.Event
	if err := json.Unmarshal([]byte(out), &signins); err != nil || len(signins) < 3 {
		t.Fatalf("--kind signin: %v %s", err, out)
	}
	for _, ev := range signins {
		if !strings.HasPrefix(ev.Kind, "signin.") {
			t.Errorf("--kind signin listed %s", ev.Kind)
		}
	}
	out, errOut, err = h.cli("admin", "audit", "list", "--since", "1h", "--tenant", tid, "--kind", audit.TokenIssued,
		"--data", h.dataDir, "--query", "length(@)", "-o", "tsv")
	if err != nil || strings.TrimSpace(out) == "0" {
		t.Fatalf("local audit list: %v %q\n%s", err, out, errOut)
	}

	// The rule: no token, secret, password or code anywhere.
	h.assertNoSecrets(seen...)

	// An unknown name fails as unknown_user and names no one: what was
	// typed is not kept (people type passwords into the name field).
	var re *oauth2.RetrieveError
	const passwordAsName = "a password typed into the name field"
	_, err = conf.PasswordCredentialsToken(octx, passwordAsName, wrongPassword)
	if !errors.As(err, &re) {
		t.Fatalf("unknown user: %v", err)
	}
	ev := h.auditEvents()
	last := ev[len(ev)-1]
	if last.Kind != audit.SignInFailure || last.Reason != "unknown_user" || last.Actor != "" {
		t.Errorf("an unknown user's sign-in: %+v", last)
	}
	h.assertNoSecrets(append(seen, passwordAsName)...)
}
