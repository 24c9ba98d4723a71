package oauth_test

import (
	"strings"
	"testing"
)

// TestDiscoveryAtTheAliasesNamesNoDeadEndpoint: the multi-tenant documents
// (/common, /organizations) name only endpoints that answer. The tenant
// of a revocation feed or an introspection call is the token's, known to
// a resource server only when it holds the token, so they are templates
// with {tenantid}, as the issuer is (Entra's shape); the RFC 7009
// revocation endpoint, which a client calls with no template support, is
// left out (RFC 8414 §2: OPTIONAL), as in Entra's documents.
func TestDiscoveryAtTheAliasesNamesNoDeadEndpoint(t *testing.T) {
	f := newFixture(t)
	tid := f.tenant.ID
	for _, alias := range []string{"common", "organizations"} {
		for _, path := range []string{"/" + alias + "/v2.0/.well-known/openid-configuration", "/" + alias + "/.well-known/openid-configuration"} {
			r := f.get(path)
			if r.status != 200 {
				t.Fatalf("%s: %d", path, r.status)
			}
			feed, introspect := r.str("revocation_feed_endpoint"), r.str("introspection_endpoint")
			if want := f.srv.URL + "/{tenantid}/oauth2/v2.0/revocations"; feed != want {
				t.Errorf("%s: revocation_feed_endpoint %q, want %q", path, feed, want)
			}
			if want := f.srv.URL + "/{tenantid}/oauth2/v2.0/introspect"; introspect != want {
				t.Errorf("%s: introspection_endpoint %q, want %q", path, introspect, want)
			}
			if v, ok := r.body["revocation_endpoint"]; ok {
				t.Errorf("%s: revocation_endpoint %v at a multi-tenant alias", path, v)
			}
			// The feed, as a resource server fills it in, answers.
			filled := strings.TrimPrefix(strings.ReplaceAll(feed, "{tenantid}", tid), f.srv.URL)
			if fr := f.get(filled + "?after=0&limit=1"); fr.status != 200 || fr.body["next"] == nil {
				t.Errorf("%s: feed %s answers %d %s", path, filled, fr.status, fr.raw)
			}
		}
	}
}
