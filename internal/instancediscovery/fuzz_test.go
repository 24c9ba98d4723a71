package instancediscovery_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzInstanceDiscovery sends hostile authorization_endpoint values: the
// answer is 200 only for an authorization endpoint of this host, and then
// points nowhere but here; otherwise it is a JSON error, never a 5xx.
func FuzzInstanceDiscovery(f *testing.F) {
	for _, s := range []string{
		"https://HOST/contoso/oauth2/v2.0/authorize",
		"https://HOST/organizations/oauth2/authorize",
		"https://127.0.0.1/contoso/oauth2/v2.0/authorize",
		"https://HOST/%2e%2e/oauth2/v2.0/authorize",
		"https://HOST//oauth2/v2.0/authorize",
		"https://HOST/contoso/oauth2/v2.0/authorize?x=1#frag",
		"https://evil.example@HOST/contoso/oauth2/v2.0/authorize",
		"https://HOST:99999/contoso/oauth2/v2.0/authorize",
		"//HOST/contoso/oauth2/v2.0/authorize",
		"https://HOST/con\"toso/oauth2/v2.0/authorize",
		"https://[::1]/contoso/oauth2/v2.0/authorize",
		"\x00", "", "%", "https://",
	} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		raw = strings.ReplaceAll(raw, "HOST", e.host)
		resp, err := e.srv.Client().Get(e.srv.URL + "/common/discovery/instance?" + url.Values{"authorization_endpoint": {raw}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%d: not JSON: %q", resp.StatusCode, body)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			if d, _ := v["tenant_discovery_endpoint"].(string); !strings.HasPrefix(d, e.srv.URL+"/") {
				t.Fatalf("points elsewhere: %s", body)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}
