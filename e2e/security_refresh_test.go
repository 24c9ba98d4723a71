package e2e

import (
	"context"
	"net/url"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestSecurityRefresh: RFC 9700 §4.14 (refresh token protection). Refresh
// tokens are bound to their client (sender-constrained by client
// authentication for confidential clients, §4.14.2), rotate on every use,
// and a replay revokes the whole family.
func TestSecurityRefresh(t *testing.T) {
	e := newSecEnv(t)
	ctx := context.Background()
	if _, err := e.h.srv.Directory.SetTenantPolicy(ctx, e.tid, directory.TenantPolicy{RefreshGrace: -1}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(t, e.tid)
	nativeRT := func(t *testing.T) string {
		status, body := e.token(e.tid, e.redeemForm(e.code(t, b, e.tid, nil).Get("code")))
		wantTokens(t, status, body)
		return body["refresh_token"].(string)
	}
	webRT := func(t *testing.T) string {
		code := e.code(t, b, e.tid, url.Values{"client_id": {e.web.AppID}, "redirect_uri": {secWebRedirect}}).Get("code")
		status, body := e.token(e.tid, url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.AppID}, "client_secret": {e.webSecret},
			"code": {code}, "redirect_uri": {secWebRedirect}, "code_verifier": {secVerifier}})
		wantTokens(t, status, body)
		return body["refresh_token"].(string)
	}
	nativeForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.AppID}, "refresh_token": {rt}}
	}
	webForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.AppID}, "client_secret": {e.webSecret}, "refresh_token": {rt}}
	}
	for _, tc := range []struct {
		name    string
		issue   func(t *testing.T) string
		attempt func(rt string) url.Values
		status  int
		code    string
		owner   func(rt string) url.Values // still works afterwards
	}{
		{"§4.14.2 public client's refresh token presented by another client",
			nativeRT, func(rt string) url.Values { f := webForm(rt); return f }, 400, "invalid_grant", nativeForm},
		{"§4.14.2 confidential client's refresh token without client authentication",
			webRT, func(rt string) url.Values { f := webForm(rt); f.Del("client_secret"); return f }, 401, "invalid_client", webForm},
		{"§4.14.2 confidential client's refresh token with a wrong secret",
			webRT, func(rt string) url.Values { f := webForm(rt); f.Set("client_secret", e.webSecret+"x"); return f }, 401, "invalid_client", webForm},
		{"§4.14.2 confidential client's refresh token presented as a public client's",
			webRT, nativeForm, 400, "invalid_grant", webForm},
		{"§4.14 tampered refresh token",
			nativeRT, func(rt string) url.Values { return nativeForm(rt + "x") }, 400, "invalid_grant", nativeForm},
		{"RFC 6749 §2.3.1 refresh token in the URL query",
			nativeRT, nil, 400, "invalid_request", nativeForm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := tc.issue(t)
			var status int
			var body map[string]any
			if tc.attempt == nil {
				status, body, _ = e.h.postForm(e.tokenPath(e.tid)+"?refresh_token="+url.QueryEscape(rt), nativeForm(rt), "", "")
			} else {
				status, body = e.token(e.tid, tc.attempt(rt))
			}
			wantOAuthError(t, status, body, tc.status, tc.code)
			status, body = e.token(e.tid, tc.owner(rt))
			wantTokens(t, status, body)
		})
	}
	t.Run("§4.14.2 rotation: the old refresh token fails and its replay revokes the family", func(t *testing.T) {
		rt := nativeRT(t)
		status, body := e.token(e.tid, nativeForm(rt))
		wantTokens(t, status, body)
		next, at := body["refresh_token"].(string), body["access_token"].(string)
		if next == rt {
			t.Fatal("the refresh token did not rotate")
		}
		status, body = e.token(e.tid, nativeForm(rt))
		wantOAuthError(t, status, body, 400, "invalid_grant")
		status, body = e.token(e.tid, nativeForm(next))
		wantOAuthError(t, status, body, 400, "invalid_grant")
		if e.introspect(t, at) {
			t.Error("the newest access token of a replayed family is active")
		}
	})
	t.Run("RFC 7009 a revoked refresh token fails", func(t *testing.T) {
		rt := nativeRT(t)
		status, body, _ := e.h.postForm("/"+e.tid+"/oauth2/v2.0/revoke", url.Values{"client_id": {e.native.AppID}, "token": {rt}}, "", "")
		if status != 200 {
			t.Fatalf("revoke: %d %v", status, body)
		}
		status, body = e.token(e.tid, nativeForm(rt))
		wantOAuthError(t, status, body, 400, "invalid_grant")
	})
	t.Run("RFC 7009 another client cannot revoke the refresh token", func(t *testing.T) {
		rt := nativeRT(t)
		e.h.postForm("/"+e.tid+"/oauth2/v2.0/revoke", url.Values{"token": {rt}}, e.web.AppID, e.webSecret)
		status, body := e.token(e.tid, nativeForm(rt))
		wantTokens(t, status, body)
	})
}
