// Package metrics holds tessera's Prometheus collectors and the few calls
// the other packages make to move them; the admin listener serves them.
package metrics

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every tessera collector, with the Go runtime's and the
// process's. A registry of its own rather than prometheus's default one,
// so that nothing a dependency registers globally is exported by accident.
var Registry = prometheus.NewRegistry()

// Buckets of the latency histograms, in seconds: from a cached read
// (tens of microseconds) to a slow durable write or a password hash
// (hundreds of milliseconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

var (
	tokensIssued = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_tokens_issued_total",
		Help: "Token responses issued by the token endpoint, by grant type and tenant id.",
	}, []string{"grant", "tenant"})

	oauthErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_oauth_errors_total",
		Help: "OAuth error responses, by error code (RFC 6749 §5.2 and its extensions).",
	}, []string{"error"})

	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tessera_http_request_duration_seconds",
		Help:    "Time to serve an HTTP request, by route pattern (not path: a tenant is not a label), method and status code.",
		Buckets: latencyBuckets,
	}, []string{"route", "method", "code"})

	storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tessera_store_duration_seconds",
		Help:    "Time a store operation takes, queueing included, by kind (write: a group-committed write; commit: one batch's transaction).",
		Buckets: latencyBuckets,
	}, []string{"kind"})

	auditDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_audit_events_dropped_total",
		Help: "Audit events not stored, by reason (queue_full: the writer fell behind and issuance did not wait; store_error; closed). Each is still in the structured log unless the queue was full.",
	}, []string{"reason"})

	storeBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tessera_store_batch_size",
		Help:    "Writes committed together in one transaction (one fsync) by the store's group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	})
)

// Label values of tessera_store_duration_seconds.
const (
	StoreWrite  = "write"
	StoreCommit = "commit"
)

func init() {
	Registry.MustRegister(tokensIssued, oauthErrors, httpDuration, storeDuration, storeBatch, auditDropped, signingKeyAge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// TokenIssued counts a token response of grant type grant in tenant.
func TokenIssued(grant, tenant string) { tokensIssued.WithLabelValues(grant, tenant).Inc() }

// OAuthError counts an error response with OAuth error code code.
func OAuthError(code string) { oauthErrors.WithLabelValues(code).Inc() }

// Request records an HTTP request served by the route pattern route
// (r.Pattern; "" when no route matched).
func Request(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	httpDuration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// Store records a store operation of kind (StoreWrite, StoreCommit).
func Store(kind string, d time.Duration) { storeDuration.WithLabelValues(kind).Observe(d.Seconds()) }

// AuditDropped counts n audit events not stored, for reason.
func AuditDropped(reason string, n int) { auditDropped.WithLabelValues(reason).Add(float64(n)) }

// Batch records the size of one group commit.
func Batch(n int) { storeBatch.Observe(float64(n)) }

// keyActivatedAt answers when the active signing key was activated; see
// SigningKeyAge.
var keyActivatedAt atomic.Pointer[func() (time.Time, bool)]

var signingKeyAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
	Name: "tessera_signing_key_age_seconds",
	Help: "Seconds since the active signing key was activated (0 until known).",
}, func() float64 {
	f := keyActivatedAt.Load()
	if f == nil {
		return 0
	}
	at, ok := (*f)()
	if !ok {
		return 0
	}
	return time.Since(at).Seconds()
})

// SigningKeyAge makes tessera_signing_key_age_seconds read the active
// key's activation time from activatedAt at each scrape, so an operator
// can alert when rotation stops happening. The registry is the process's,
// so the last server to call it (tests start several) is the one read.
func SigningKeyAge(activatedAt func() (time.Time, bool)) { keyActivatedAt.Store(&activatedAt) }

// Handler serves the registry in the Prometheus exposition format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}
