package loadtest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The shared transport sends only to the origins it was given: not to a
// redirect's target, not to a URL a server names.
func TestTransportSendsOnlyToGivenOrigins(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a request reached the origin not given") }))
	defer other.Close()
	tr, err := NewTransport("", 2, srv.URL+"/some/path")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: tr}
	if res, err := hc.Get(srv.URL + "/token"); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	_, err = hc.Get(other.URL + "/token")
	if KindOf(err) != "foreign_origin" || hits != 1 {
		t.Errorf("request elsewhere: %v (kind %q), %d hits at the given origin", err, KindOf(err), hits)
	}
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"https://Host:443/x", "https://host/y", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081", false},
		{"http://h", "https://h", false},
		{"not a url", "not a url", false},
	} {
		if SameOrigin(c.a, c.b) != c.same {
			t.Errorf("SameOrigin(%q, %q) = %v", c.a, c.b, !c.same)
		}
	}
}

// A 503 or 429 is a Failure marked busy with the server's Retry-After,
// under the OAuth error code when the body has one; other statuses are not
// busy.
func TestBusyFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/503":
			w.Header().Set("Retry-After", "2")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"busy"}`))
		case "/429":
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path string
		want Failure
	}{
		{"/503", Failure{Kind: "temporarily_unavailable", Busy: true, RetryAfter: 2 * time.Second}},
		{"/429", Failure{Kind: "status_429", Busy: true}},
		{"/400", Failure{Kind: "invalid_grant"}},
	} {
		req, _ := http.NewRequest("POST", srv.URL+tc.path, nil)
		_, err := doJSON(srv.Client(), req)
		var f *Failure
		if !errors.As(err, &f) || f.Kind != tc.want.Kind || f.Busy != tc.want.Busy || f.RetryAfter != tc.want.RetryAfter {
			t.Errorf("%s: %#v, want %+v", tc.path, err, tc.want)
		}
	}
}
