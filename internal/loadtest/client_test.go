package loadtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
