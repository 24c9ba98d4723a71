package metrics

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What the calls record is what the handler exposes, under the names the
// dashboards use; a request no route matched is one "unmatched" series
// rather than one per path.
func TestExposition(t *testing.T) {
	TokenIssued("refresh_token", "tenant-1")
	OAuthError("invalid_grant")
	Request("", "GET", 404, time.Millisecond)
	Request("POST /{tenant}/oauth2/v2.0/token", "POST", 200, time.Millisecond)
	Store(StoreWrite, time.Millisecond)
	Batch(3)
	at := time.Now().Add(-time.Hour)
	SigningKeyAge(func() (time.Time, bool) { return at, true })

	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`tessera_tokens_issued_total{grant="refresh_token",tenant="tenant-1"} 1`,
		`tessera_oauth_errors_total{error="invalid_grant"} 1`,
		`tessera_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`tessera_http_request_duration_seconds_count{code="200",method="POST",route="POST /{tenant}/oauth2/v2.0/token"} 1`,
		`tessera_store_duration_seconds_count{kind="write"} 1`,
		`tessera_store_batch_size_sum 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The age is read at the scrape: at least the hour since activation.
	_, rest, _ := strings.Cut(string(body), "\ntessera_signing_key_age_seconds ")
	line, _, _ := strings.Cut(rest, "\n")
	if age, err := strconv.ParseFloat(line, 64); err != nil || age < 3600 {
		t.Errorf("tessera_signing_key_age_seconds = %q, want at least 3600", line)
	}
}
