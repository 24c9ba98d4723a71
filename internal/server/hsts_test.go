package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tessera-id/tessera/internal/config"
)

func TestHSTS(t *testing.T) {
	tls, plain, plainOptIn := config.Default(), config.Default(), config.Default()
	plain.HTTP = true
	plainOptIn.HTTP, plainOptIn.HSTS = true, true
	for _, tc := range []struct {
		rule string
		cfg  config.Config
		url  string
		want bool
	}{
		{"RFC 6797 §7.1: serving TLS, a real host", tls, "https://id.example.com", true},
		{"serving TLS on an IP (a UA ignores it, RFC 6797 §8.1, but it is right)", tls, "https://127.0.0.1:8443", true},
		{"not on localhost: it would pin every local port to HTTPS (RFC 6761 §6.3)", tls, "https://localhost:8443", false},
		{"not on *.localhost", tls, "https://id.localhost:8443", false},
		{"--http: the TLS proxy sets it", plain, "https://id.example.com", false},
		{"--http with --hsts and an https public URL", plainOptIn, "https://id.example.com", true},
		{"--http with --hsts but an http public URL: never over plain HTTP (RFC 6797 §7.2)", plainOptIn, "http://id.example.com", false},
	} {
		if got := sendHSTS(tc.cfg, tc.url); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.rule, got, tc.want)
		}
	}
	for _, on := range []bool{true, false} {
		w := httptest.NewRecorder()
		withHSTS(http.NotFoundHandler(), on).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if got := w.Header().Get("Strict-Transport-Security"); (got == hstsValue) != on {
			t.Errorf("on %v: header %q", on, got)
		}
	}
}

// TestNosniffEverywhere: the public listener's common middleware and the
// admin listener's both send X-Content-Type-Options: nosniff.
func TestNosniffEverywhere(t *testing.T) {
	for name, h := range map[string]http.Handler{
		"public": withCommon(http.NotFoundHandler(), slog.New(slog.DiscardHandler)),
		"admin":  nosniff(http.NotFoundHandler()),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s listener: no nosniff", name)
		}
	}
}
