// Package instancediscovery serves the Microsoft-specific discovery that MSAL and ADAL
// call before any OAuth request: instance discovery, which tells a client
// which hosts are one cloud and where a tenant's OpenID configuration is.
package instancediscovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-id/tessera/internal/directory"
)

// Config is what the endpoints need, passed in at construction.
type Config struct {
	Directory *directory.Service
	// PublicURL is the base of every issuer and endpoint URL, e.g.
	// https://id.example.com:8443 (no trailing slash).
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Handler serves the endpoints.
type Handler struct {
	dir       *directory.Service
	publicURL string
	public    *url.URL
	log       *slog.Logger
	now       func() time.Time
}

// New returns the handler. A public URL that does not parse leaves
// instance discovery answering invalid_instance to everyone.
func New(cfg Config) *Handler {
	h := &Handler{dir: cfg.Directory, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), log: cfg.Logger, now: cfg.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if u, err := url.Parse(h.publicURL); err == nil && u.Host != "" {
		h.public = u
	}
	return h
}

// Register adds the routes. Entra serves instance discovery under
// /common/; MSAL.NET and the Azure SDKs also ask /organizations/.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /common/discovery/instance", h.instanceDiscovery)
	mux.HandleFunc("GET /organizations/discovery/instance", h.instanceDiscovery)
}

// instanceAliases are the {tenant} values instance discovery accepts
// besides a tenant: Entra's multi-tenant authorities.
var instanceAliases = map[string]bool{"common": true, "organizations": true, "consumers": true}

// instanceDiscoveryResponse is Entra's answer (api-version 1.1): where the
// tenant's v2 OpenID configuration is, and which host names are one
// cloud. preferred_network is the host MSAL sends requests to,
// preferred_cache the host it files tokens under.
type instanceDiscoveryResponse struct {
	TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
	APIVersion              string             `json:"api-version"`
	Metadata                []instanceMetadata `json:"metadata"`
}

type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

// instanceDiscoveryMaxAge: the answer changes only when tessera's public
// URL does or a tenant goes; Entra lets clients keep it a day.
const instanceDiscoveryMaxAge = 24 * time.Hour

// instanceDiscovery answers GET /common/discovery/instance?api-version=1.1
// &authorization_endpoint=https://{host}/{tenant}/oauth2/v2.0/authorize.
// The host must be tessera's (with or without its port: MSAL for Python
// sends the host name alone), the path an authorization endpoint, the
// tenant one that exists or a multi-tenant alias; anything else is
// invalid_instance, which MSAL reports as an authority it cannot trust.
func (h *Handler) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("authorization_endpoint")
	if raw == "" {
		h.writeError(w, r, errMissingEndpoint())
		return
	}
	tenant, ok := h.authorizeTenant(raw)
	if !ok {
		h.writeError(w, r, errInvalidInstance(fmt.Errorf("authorization_endpoint %q is not an authorization endpoint of %s", clip(raw), h.publicURL)))
		return
	}
	if !instanceAliases[strings.ToLower(tenant)] {
		if _, err := h.dir.ResolveTenant(r.Context(), tenant); errors.Is(err, directory.ErrNotFound) {
			h.writeError(w, r, errInvalidInstance(fmt.Errorf("no tenant %q", clip(tenant))))
			return
		} else if err != nil {
			h.writeError(w, r, errServer(err))
			return
		}
	}
	hosts := []string{h.public.Host}
	if name := h.public.Hostname(); name != h.public.Host {
		// Clients compare hosts with and without the port (MSAL for
		// Python keeps the name only): both are this instance.
		hosts = append(hosts, name)
	}
	body, err := json.Marshal(instanceDiscoveryResponse{
		TenantDiscoveryEndpoint: h.publicURL + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration",
		APIVersion:              "1.1",
		Metadata:                []instanceMetadata{{PreferredNetwork: h.public.Host, PreferredCache: h.public.Host, Aliases: hosts}},
	})
	if err != nil {
		h.writeError(w, r, errServer(err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(instanceDiscoveryMaxAge.Seconds())))
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// authorizeTenant reads the {tenant} of an authorization endpoint URL of
// this instance: https://{host[:port]}/{tenant}/oauth2/v2.0/authorize, or
// the v1 /{tenant}/oauth2/authorize that ADAL sends.
func (h *Handler) authorizeTenant(raw string) (string, bool) {
	if h.public == nil {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Fragment != "" {
		return "", false
	}
	if !strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, h.public.Scheme) {
		return "", false
	}
	if !strings.EqualFold(u.Host, h.public.Host) && !(u.Port() == "" && strings.EqualFold(u.Hostname(), h.public.Hostname())) {
		return "", false
	}
	tenant, rest, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || tenant == "" || (rest != "oauth2/v2.0/authorize" && rest != "oauth2/authorize") {
		return "", false
	}
	return tenant, true
}

// apiError is an error of these endpoints in Entra's shape (RFC 6749 §5.2
// plus error_codes, timestamp, trace and correlation ids). Description is
// public; cause goes to the log only.
type apiError struct {
	code        string
	status      int
	aadsts      int
	description string
	cause       error
}

func errMissingEndpoint() *apiError {
	return &apiError{code: "invalid_request", status: http.StatusBadRequest, aadsts: 90014,
		description: "The required field 'authorization_endpoint' is missing from the query string."}
}

// errInvalidInstance is Entra's answer for an authority it does not
// serve (AADSTS50049), which MSAL turns into "invalid_instance: the
// authority host is not valid".
func errInvalidInstance(cause error) *apiError {
	return &apiError{code: "invalid_instance", status: http.StatusBadRequest, aadsts: 50049, cause: cause,
		description: "Unknown or invalid instance."}
}

func errServer(cause error) *apiError {
	return &apiError{code: "server_error", status: http.StatusInternalServerError, aadsts: 50000, cause: cause,
		description: "The server failed to process the request. Give the trace id to the operator."}
}

type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	trace := uuid.NewString()
	corr := r.Header.Get("client-request-id")
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	now := h.now().UTC().Format("2006-01-02 15:04:05Z")
	level := slog.LevelInfo
	if e.status >= 500 {
		level = slog.LevelError
	}
	cause := ""
	if e.cause != nil {
		cause = e.cause.Error()
	}
	h.log.Log(r.Context(), level, "msft error", "error", e.code, "aadsts", e.aadsts, "status", e.status,
		"cause", cause, "trace_id", trace, "correlation_id", corr, "path", r.URL.Path)
	b, _ := json.Marshal(errorBody{
		Error: e.code,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.aadsts, e.description, trace, corr, now),
		ErrorCodes: []int{e.aadsts}, Timestamp: now, TraceID: trace, CorrelationID: corr,
	})
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	w.Write(b)
}

// clip keeps log lines short whatever a client sends.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
