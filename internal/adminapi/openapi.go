package adminapi

import (
	_ "embed"
	"net/http"
)

// Spec is the OpenAPI 3.0.3 description of the API, served at
// /admin/v1/openapi.yaml. Tests validate every request and answer they
// make against it, so it cannot drift from the code unnoticed.
//
//go:embed openapi.yaml
var Spec []byte

// serveSpec needs no token: the description holds no data, and a client
// generator should be able to fetch it.
func serveSpec(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml") // RFC 9512
	_, _ = w.Write(Spec)
}
