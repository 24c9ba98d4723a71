// Package guard is resource-server middleware for net/http: it admits
// requests bearing access tokens of a tessera (or Entra ID) authority and
// puts the caller, a *Principal, in the request context.
//
// A Guard is built once per authority with New, which reads the
// authority's discovery document and key set:
//
//	g, err := guard.New(ctx, guard.Config{
//		Authority: "https://idp.example/contoso.example/v2.0",
//		Audiences: []string{"api://6d0c2b6a-…"},
//	})
//	mux.Handle("GET /studies", g.Middleware(
//		guard.AnyOf(guard.RequireRoles("Reader"), guard.RequireScopes("Studies.Read")),
//	)(studies))
//
// Tokens are compact JWS (RFC 7515) JWTs (RFC 7519) of either Entra
// shape: v2 (iss https://host/{tid}/v2.0, aud the app id, azp) or v1 (iss
// https://host/{tid}/, aud usually api://{appId}, appid), or RFC 9068's
// (typ at+jwt). A token without azp, appid or typ at+jwt is an ID token,
// not an access token, and is refused. Validation follows the JWT BCP
// (RFC 8725): an allowlist of asymmetric algorithms, each only with a key
// of its own type; no "none", no HMAC. Keys are
// cached and refetched for an unknown kid through one single flight at
// most once per MinRefreshInterval.
//
// Access tokens are JWTs, valid until they expire; to refuse one revoked
// before then, the guard follows the authority's revocation feed (tessera
// names it revocation_feed_endpoint in discovery): New reads it whole, then
// a goroutine polls it every RevocationPollInterval until Close. A token
// whose sign-in (sid) or id (jti/uti) is on the feed is refused, and so is
// one of a revoked user, service principal (oid) or client (azp/appid)
// issued at or before the revocation, and one a later refresh of its
// sign-in for the same audience replaced. Lookups read immutable buckets
// through atomic pointers, without a lock; a poll replaces only the
// buckets of what it brings or drops, and a failed poll keeps what was
// known. On a multi-tenant authority (/common, /organizations), whose
// discovery names the feed by a {tenantid} template, the guard follows the
// feed of each tenant whose tokens it accepts, read whole before that
// tenant's first token is admitted (Config.RevocationTenants bounds how
// many). With
// Config.Introspection the guard instead asks the authority about each
// token that passes its own checks (RFC 7662), caching "active" answers for
// at most CacheTTL.
//
// A token that passed every check is remembered, by the SHA-256 of the
// whole token, in a bounded cache (Config.VerifiedTokenCacheSize), so a
// client presenting the same token on every call costs a hash and a map
// lookup instead of a signature verification. Lifetime, revocation (or
// introspection), the tenant header and the route's requirements are
// still checked on every request, and a cached token whose key is no
// longer published is verified afresh, and refused.
//
// Refusals follow RFC 6750 §3: 401 with a Bearer challenge for a missing
// or invalid token, 403 insufficient_scope for a valid token lacking a
// role, a scope or the tenant named by the tenant header, 400
// invalid_request for a malformed Authorization header or a missing tenant
// header. Descriptions are
// fixed strings; the cause goes to the log, never to the client.
//
// NewProxy puts the same checks in front of any HTTP service. Package
// guardtest provides a token authority for tests.
package guard
