package guard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/guard"
)

func TestConfigRejected(t *testing.T) {
	tests := []struct {
		rule string
		cfg  guard.Config
		want []string // every one must be in the error
	}{
		{"RFC 8725 §3.1: alg none is never accepted",
			guard.Config{Authority: "https://127.0.0.1/t/v2.0", Audiences: []string{"a"}, Algorithms: []string{"RS256", "none"}},
			[]string{`"none"`}},
		{"RFC 8725 §2.1: HMAC algorithms are refused (alg confusion)",
			guard.Config{Authority: "https://127.0.0.1/t/v2.0", Audiences: []string{"a"}, Algorithms: []string{"HS256"}},
			[]string{`"HS256" is symmetric`}},
		{"unknown algorithm", guard.Config{Authority: "https://127.0.0.1/t/v2.0", Audiences: []string{"a"}, Algorithms: []string{"RS1"}},
			[]string{`"RS1" is not supported`}},
		{"every problem reported at once", guard.Config{TenantHeader: "X Tenant"},
			[]string{"authority is required", "at least one audience", "not a valid header name"}},
		{"keys are not fetched over plain http from another host",
			guard.Config{Authority: "http://idp.example/t/v2.0", Audiences: []string{"a"}},
			[]string{"must use https"}},
		{"authority is an absolute URL", guard.Config{Authority: "/t/v2.0", Audiences: []string{"a"}},
			[]string{"not an absolute http(s) URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, err := guard.New(context.Background(), tt.cfg)
			if err == nil {
				t.Fatal("New accepted the config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// New fails, naming what it could not fetch, so that a resource server
// that cannot verify tokens does not start.
func TestNewFailsClearly(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	badKeys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"https://idp.example/t/v2.0","jwks_uri":"http://idp.example/keys"}`))
	}))
	defer badKeys.Close()
	noKeys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/keys") {
			w.Write([]byte(`{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}`))
			return
		}
		w.Write([]byte(`{"issuer":"http://` + r.Host + `/t/v2.0","jwks_uri":"http://` + r.Host + `/keys"}`))
	}))
	defer noKeys.Close()

	tests := []struct {
		rule      string
		authority string
		want      string
	}{
		{"authority unreachable", down.URL + "/t/v2.0", "fetch discovery document"},
		{"jwks_uri over plain http", badKeys.URL + "/t/v2.0", "not an https URL"},
		{"RFC 8725 §3.1: a symmetric key in the key set is not usable", noKeys.URL + "/t/v2.0", "no usable signing keys"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, err := guard.New(context.Background(), guard.Config{Authority: tt.authority, Audiences: []string{"a"}, Logger: quiet})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
		})
	}
}
