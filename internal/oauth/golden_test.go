package oauth_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

var update = flag.Bool("update", false, "rewrite the golden files of the wire shapes")

// shape replaces the values of a JSON document by their types, keeping
// the field names and order, so that a golden file shows the wire shape
// of a response whose values change every time.
func shape(t *testing.T, raw []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	var walk func(depth int) error
	indent := func(d int) { out.WriteString("\n" + strings.Repeat("  ", d)) }
	walk = func(depth int) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			open, close := string(v), map[string]string{"{": "}", "[": "]"}[string(v)]
			out.WriteString(open)
			first := true
			for dec.More() {
				if !first {
					out.WriteString(",")
				}
				first = false
				indent(depth + 1)
				if open == "{" {
					k, _ := dec.Token()
					b, _ := json.Marshal(k)
					out.Write(b)
					out.WriteString(": ")
				}
				if err := walk(depth + 1); err != nil {
					return err
				}
			}
			dec.Token()
			if !first {
				indent(depth)
			}
			out.WriteString(close)
		case string:
			out.WriteString(`"<string>"`)
		case json.Number:
			out.WriteString(`"<number>"`)
		case bool:
			out.WriteString(`"<bool>"`)
		case nil:
			out.WriteString("null")
		}
		return nil
	}
	if err := walk(0); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	out.WriteString("\n")
	return out.Bytes()
}

func golden(t *testing.T, name string, raw []byte) {
	t.Helper()
	got := shape(t, raw)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		check(t, os.MkdirAll(filepath.Dir(path), 0o755))
		check(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed shape:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestWireShapes pins every response shape of the user grants and the
// revocation endpoints: a renamed or retyped field is a visible diff.
func TestWireShapes(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce()
	code, _ := f.signIn(f.public.AppID, publicRedirect, fullScope, challenge, "n")
	form := f.redeem(f.public.AppID, code, publicRedirect, verifier)
	form.Set("client_info", "1")
	v2 := f.token(form)
	golden(t, "token_user_v2", v2.raw)

	f.consent(f.public.AppID, "https://legacy.example/api/user_impersonation")
	code, _ = f.signIn(f.public.AppID, publicRedirect, "openid", "", "")
	form = f.redeem(f.public.AppID, code, publicRedirect, "")
	form.Set("resource", "https://legacy.example/api")
	golden(t, "token_user_v1", f.post("/"+f.tenant.ID+"/oauth2/token", form).raw)

	golden(t, "devicecode_v2", f.startDevice(fullScope).raw)
	golden(t, "devicecode_v1", f.post("/"+f.tenant.ID+"/oauth2/devicecode", url.Values{"client_id": {f.public.AppID}, "resource": {"https://legacy.example/api"}}).raw)
	golden(t, "error_consent_required", f.token(f.ropc("alice", password, "api://studies/write")).raw)
	golden(t, "introspection_access_token", f.introspect(v2.str("access_token")).raw)
	golden(t, "introspection_inactive", f.introspect("x").raw)

	// A refresh's entry supersedes the grant's earlier tokens for one
	// audience: it adds aud and except to an entry's shape.
	refreshed := f.refresh(f.public.AppID, v2.str("refresh_token"), nil)
	feed := f.get("/" + f.tenant.ID + "/oauth2/v2.0/revocations?limit=1")
	golden(t, "revocations_superseded", feed.raw)

	f.revoke(url.Values{"client_id": {f.public.AppID}, "token": {refreshed.str("refresh_token")}})
	golden(t, "revocations", f.get("/"+f.tenant.ID+"/oauth2/v2.0/revocations?limit=1&after="+strconv.FormatInt(int64(feed.body["next"].(float64)), 10)).raw)

	f.setPolicy(directory.TenantPolicy{ProductLoginResource: "api://studies"})
	golden(t, "product_login", f.login(`{"username":"alice","password":"`+password+`"}`, http.Header{"X-Tenant-Id": {"contoso"}}).raw)
	golden(t, "product_login_error", f.login(`{"username":"alice","password":"nope"}`, http.Header{"X-Tenant-Id": {"contoso"}}).raw)

	golden(t, "discovery_v2", f.get("/"+f.tenant.ID+"/v2.0/.well-known/openid-configuration").raw)
}

// TestDiscoveryAdvertisesTheUserEndpoints: OIDC Discovery §3, RFC 8414
// §2, RFC 8628 §4, RFC 7009/7662 metadata (RFC 8414 §2).
func TestDiscoveryAdvertisesTheUserEndpoints(t *testing.T) {
	f := newFixture(t)
	base := f.srv.URL + "/" + f.tenant.ID
	for version, path := range map[int]string{2: "/contoso/v2.0/.well-known/openid-configuration", 1: "/contoso/.well-known/openid-configuration"} {
		r := f.get(path)
		if r.status != 200 {
			t.Fatalf("%s: %d", path, r.status)
		}
		authz, device := base+"/oauth2/v2.0/authorize", base+"/oauth2/v2.0/devicecode"
		if version == 1 {
			authz, device = base+"/oauth2/authorize", base+"/oauth2/devicecode"
		}
		want := map[string]any{"authorization_endpoint": authz, "device_authorization_endpoint": device,
			"end_session_endpoint": base + "/oauth2/v2.0/logout", "revocation_endpoint": base + "/oauth2/v2.0/revoke",
			"introspection_endpoint": base + "/oauth2/v2.0/introspect", "revocation_feed_endpoint": base + "/oauth2/v2.0/revocations",
			"frontchannel_logout_supported": false}
		for k, v := range want {
			if r.body[k] != v {
				t.Errorf("v%d %s = %v, want %v", version, k, r.body[k], v)
			}
		}
		list := func(k string) string {
			var s []string
			for _, v := range r.body[k].([]any) {
				s = append(s, v.(string))
			}
			return strings.Join(s, " ")
		}
		if list("code_challenge_methods_supported") != "S256" || list("subject_types_supported") != "public" ||
			list("grant_types_supported") != "authorization_code refresh_token urn:ietf:params:oauth:grant-type:device_code password client_credentials" {
			t.Errorf("v%d lists: %v %v %v", version, r.body["code_challenge_methods_supported"], r.body["subject_types_supported"], r.body["grant_types_supported"])
		}
	}
}
