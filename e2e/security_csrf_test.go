package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSecurityCSRF: RFC 9700 §4.7 (cross-site request forgery). Every
// form the pages post carries a csrf_token bound to the browser's
// SameSite=Strict cookie and to the form's purpose, and the authorization
// response carries state unchanged (§4.7.1) for the client's own check.
func TestSecurityCSRF(t *testing.T) {
	e := newSecEnv(t)
	ctx := context.Background()
	signedIn := e.signedIn(t, e.tid)
	// pageFor opens, in a fresh browser (signed in as alice for consent
	// and account selection), the page with form id.
	pageFor := func(t *testing.T, id string) (*browser, pageForm) {
		switch id {
		case "signin":
			b := e.h.newBrowser(t)
			p, _ := b.get(e.authorizeURL(e.tid, nil))
			return b, p.form(t, "signin")
		case "consent", "select_account":
			b := e.sessionOf(t, signedIn)
			p, next := b.get(e.authorizeURL(e.tid, url.Values{"prompt": {id}}))
			if next != nil {
				t.Fatalf("no %s page: redirected to %s", id, next)
			}
			return b, p.form(t, id)
		case "device":
			b := e.h.newBrowser(t)
			p, _ := b.get(e.h.srv.URL + "/" + e.tid + "/devicelogin")
			return b, p.form(t, "device")
		}
		t.Fatalf("no form %s", id)
		return nil, pageForm{}
	}
	_, uc, _, err := e.h.srv.Sessions.StartDevice(ctx, e.tid, e.native.AppID, []string{"openid"}, "")
	if err != nil {
		t.Fatal(err)
	}
	fill := map[string]url.Values{
		"signin":         {"username": {"alice"}, "password": {alicePassword}},
		"consent":        {"decision": {"accept"}},
		"select_account": {"account": {"continue"}},
		"device":         {"user_code": {uc}},
	}
	for _, id := range []string{"signin", "consent", "select_account", "device"} {
		for _, tc := range []struct {
			name  string
			forge func(t *testing.T, f *pageForm, b *browser)
			ok    bool
		}{
			{"§4.7 " + id + " form with its csrf_token", func(*testing.T, *pageForm, *browser) {}, true},
			{"§4.7 " + id + " form without csrf_token", func(_ *testing.T, f *pageForm, _ *browser) { f.fields.Del("csrf_token") }, false},
			{"§4.7 " + id + " form with a tampered csrf_token", func(_ *testing.T, f *pageForm, _ *browser) {
				f.fields.Set("csrf_token", strings.Repeat("A", len(f.fields.Get("csrf_token"))))
			}, false},
			{"§4.7 " + id + " form with another browser's csrf_token", func(t *testing.T, f *pageForm, _ *browser) {
				_, other := pageFor(t, id)
				f.fields.Set("csrf_token", other.fields.Get("csrf_token"))
			}, false},
			{"§4.7 " + id + " form posted without the CSRF cookie", func(_ *testing.T, _ *pageForm, b *browser) {
				u, _ := url.Parse(e.h.srv.URL)
				b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-tessera_csrf", Value: "", Path: "/", MaxAge: -1, Secure: true}})
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b, f := pageFor(t, id)
				tc.forge(t, &f, b)
				p, next := b.submit(f, fill[id], "")
				if tc.ok {
					if p.status == 403 {
						t.Fatalf("refused with its own token")
					}
					return
				}
				if next != nil || p.status != 403 {
					t.Fatalf("forged post accepted: page %q status %d, redirect %v", p.kind, p.status, next)
				}
			})
		}
	}
	t.Run("§4.7 a csrf_token for one form is refused by another", func(t *testing.T) {
		b, consent := pageFor(t, "consent")
		p, _ := b.get(e.h.srv.URL + "/" + e.tid + "/devicelogin")
		f := p.form(t, "device")
		f.fields.Set("csrf_token", consent.fields.Get("csrf_token"))
		if p, next := b.submit(f, fill["device"], ""); next != nil || p.status != 403 {
			t.Fatalf("page %q status %d", p.kind, p.status)
		}
	})
	t.Run("§4.7 the CSRF cookie is SameSite=Strict and HttpOnly", func(t *testing.T) {
		resp, _ := e.h.newBrowser(t).fetch("GET", e.authorizeURL(e.tid, nil), nil)
		var found bool
		for _, c := range resp.Cookies() {
			if c.Name == "__Host-tessera_csrf" {
				found = c.SameSite == http.SameSiteStrictMode && c.HttpOnly && c.Secure
			}
		}
		if !found {
			t.Fatalf("Set-Cookie %v", resp.Header.Values("Set-Cookie"))
		}
	})
	b := e.signedIn(t, e.tid)
	for _, tc := range []struct {
		name, state string
		set         url.Values
	}{
		{"§4.7.1 state returned unchanged with a code", "a b+c/d?e=f&g%20h", nil},
		{"§4.7.1 state returned unchanged with an error", "s&t=u", url.Values{"scope": {"api://nonexistent/read"}}},
		{"§4.7.1 state returned unchanged, long", strings.Repeat("s", 2000), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := url.Values{"state": {tc.state}}
			for k, v := range tc.set {
				set[k] = v
			}
			if got := e.code(t, b, e.tid, set).Get("state"); got != tc.state {
				t.Fatalf("state %q, want %q", got, tc.state)
			}
		})
	}
}
