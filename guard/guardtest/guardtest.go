// Package guardtest is a token authority for tests of code protected by
// package guard: it serves Entra-shaped discovery documents and a key set
// on a loopback TLS server and mints access tokens, so a handler can be
// tested through the real guard with no identity provider running.
package guardtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is a signing key of the authority, published or not.
type Key struct {
	ID        string
	Algorithm jose.SignatureAlgorithm
	Signer    crypto.Signer
}

// Authority is an Entra-shaped token issuer on https://127.0.0.1:port.
// Tenants are addressed by id or by any of their domains, as in Entra:
//
//	/{tenant}/v2.0/.well-known/openid-configuration  issuer https://host/{tid}/v2.0
//	/{tenant}/.well-known/openid-configuration       issuer https://host/{tid}/
//	/common/v2.0/.well-known/openid-configuration    issuer https://host/{tenantid}/v2.0
//	/{tid}/discovery/v2.0/keys, /{tid}/discovery/keys the key set
//	/{tenant}/oauth2/v2.0/revocations                 the revocation feed (see Revoke)
//	/{tenant}/oauth2/v2.0/introspect                  RFC 7662 introspection (see IntrospectionClientID)
type Authority struct {
	// TenantID is the home tenant, created with the domain
	// "contoso.example".
	TenantID string
	// Server is the TLS test server; Server.Client() trusts it.
	Server *httptest.Server
	// Now is the clock minted tokens are stamped with; default time.Now.
	Now func() time.Time

	// RSA and EC are the published keys minted tokens are signed with by
	// default (RS256) or with SignWith(a.EC) (ES256).
	RSA, EC Key

	mu            sync.Mutex
	published     []Key
	domains       map[string]string // domain or tid -> tid
	fetches       atomic.Int64
	discoveries   atomic.Int64
	feed          feed
	introspection introspection
}

// NewAuthority starts an authority; it is closed when tb ends.
func NewAuthority(tb testing.TB) *Authority {
	tb.Helper()
	a := Start()
	tb.Cleanup(a.Close)
	return a
}

// Start starts an authority outside a test (in an Example); Close it.
func Start() *Authority {
	a := &Authority{
		TenantID: NewGUID(),
		Now:      time.Now,
		RSA:      Key{ID: "rsa-" + NewGUID()[:8], Algorithm: jose.RS256, Signer: pooledRSA(0)},
		EC:       Key{ID: "ec-" + NewGUID()[:8], Algorithm: jose.ES256, Signer: pooledEC(0)},
		domains:  map[string]string{},
	}
	a.published = []Key{a.RSA, a.EC}
	a.AddTenant(a.TenantID, "contoso.example")
	a.Server = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	return a
}

// Close stops the server.
func (a *Authority) Close() { a.Server.Close() }

// Base is https://127.0.0.1:port.
func (a *Authority) Base() string { return a.Server.URL }

// URL is the v2 authority of the home tenant, as guard.Config.Authority
// takes it.
func (a *Authority) URL() string { return a.Base() + "/" + a.TenantID + "/v2.0" }

// IssuerV2 and IssuerV1 are the home tenant's iss values.
func (a *Authority) IssuerV2() string { return a.Base() + "/" + a.TenantID + "/v2.0" }

// IssuerV1 is the v1 iss of the home tenant.
func (a *Authority) IssuerV1() string { return a.Base() + "/" + a.TenantID + "/" }

// Client trusts the authority's certificate.
func (a *Authority) Client() *http.Client { return a.Server.Client() }

// CertificatePEM is the server certificate, to trust it by file
// (SSL_CERT_FILE, --ca-file).
func (a *Authority) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Server.Certificate().Raw})
}

// AddTenant makes tenant tid known, also under the given domain names.
func (a *Authority) AddTenant(tid string, domains ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.domains[strings.ToLower(tid)] = tid
	for _, d := range domains {
		a.domains[strings.ToLower(d)] = tid
	}
}

// KeySetFetches counts requests for the key set.
func (a *Authority) KeySetFetches() int { return int(a.fetches.Load()) }

// DiscoveryFetches counts requests for discovery documents, known tenant
// or not.
func (a *Authority) DiscoveryFetches() int { return int(a.discoveries.Load()) }

// NewKey returns a fresh key of alg ("RS256" or "ES256") that is not
// published; Publish it to rotate keys.
func (a *Authority) NewKey(tb testing.TB, alg jose.SignatureAlgorithm) Key {
	tb.Helper()
	k := Key{ID: string(alg) + "-" + NewGUID()[:8], Algorithm: alg}
	switch alg {
	case jose.RS256:
		k.Signer = pooledRSA(1 + int(keySeq.Add(1)))
	case jose.ES256:
		k.Signer = pooledEC(1 + int(keySeq.Add(1)))
	default:
		tb.Fatalf("guardtest: no keys for %s", alg)
	}
	return k
}

var keySeq atomic.Int64

// Publish adds k to the key set.
func (a *Authority) Publish(k Key) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.published = append(a.published, k)
}

// Unpublish removes the key with id kid from the key set.
func (a *Authority) Unpublish(kid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, k := range a.published {
		if k.ID == kid {
			a.published = append(a.published[:i:i], a.published[i+1:]...)
			return
		}
	}
}

func (a *Authority) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	tid, known := a.domains[strings.ToLower(parts[0])]
	a.mu.Unlock()
	rest := strings.Join(parts[1:], "/")
	if strings.HasSuffix(rest, ".well-known/openid-configuration") {
		a.discoveries.Add(1)
	}
	switch {
	case rest == "discovery/v2.0/keys" || rest == "discovery/keys":
		a.fetches.Add(1)
		writeJSON(w, http.StatusOK, a.keySet())
	case parts[0] == "common" && rest == "v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, a.tenantDiscovery("{tenantid}", a.Base()+"/{tenantid}/v2.0", a.Base()+"/common/discovery/v2.0/keys"))
	case !known:
		// Entra answers an unknown tenant with 400 AADSTS90002.
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})
	case rest == "v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, a.tenantDiscovery(tid, a.Base()+"/"+tid+"/v2.0", a.Base()+"/"+tid+"/discovery/v2.0/keys"))
	case rest == ".well-known/openid-configuration":
		writeJSON(w, http.StatusOK, a.tenantDiscovery(tid, a.Base()+"/"+tid+"/", a.Base()+"/"+tid+"/discovery/keys"))
	case rest == "oauth2/v2.0/revocations" && r.Method == http.MethodGet:
		a.serveFeed(w, r, tid)
	case rest == "oauth2/v2.0/introspect" && r.Method == http.MethodPost:
		a.serveIntrospect(w, r, tid)
	default:
		http.NotFound(w, r)
	}
}

func (a *Authority) discovery(issuer, jwks string) map[string]any {
	return map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              jwks,
		"token_endpoint":                        strings.TrimSuffix(issuer, "/v2.0") + "/oauth2/v2.0/token",
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
	}
}

// tenantDiscovery is a tenant's discovery document, which names the
// tenant's revocation feed and introspection endpoint unless hidden. For /common, tid is
// the template "{tenantid}", as in tessera's.
func (a *Authority) tenantDiscovery(tid, issuer, jwks string) map[string]any {
	d := a.discovery(issuer, jwks)
	a.tenantEndpoints(d, tid)
	return d
}

func (a *Authority) keySet() jose.JSONWebKeySet {
	a.mu.Lock()
	defer a.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range a.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Signer.Public(), KeyID: k.ID, Algorithm: string(k.Algorithm), Use: "sig"})
	}
	return set
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NewGUID returns a random GUID in lower case.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Keys are generated once per test binary and shared: RSA generation is
// slow, and tests need distinct keys, not fresh ones.
var (
	poolMu  sync.Mutex
	rsaPool = map[int]*rsa.PrivateKey{}
	ecPool  = map[int]*ecdsa.PrivateKey{}
)

func pooledRSA(i int) *rsa.PrivateKey {
	poolMu.Lock()
	defer poolMu.Unlock()
	if k, ok := rsaPool[i]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	rsaPool[i] = k
	return k
}

func pooledEC(i int) *ecdsa.PrivateKey {
	poolMu.Lock()
	defer poolMu.Unlock()
	if k, ok := ecPool[i]; ok {
		return k
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	ecPool[i] = k
	return k
}
