// Package adminapi is tessera's admin HTTP API: JSON over HTTP for managing
// tenants and their policy, app registrations, service principals,
// credentials, app role assignments, users, consents, lockouts and address
// bans, and signing keys, described by an embedded OpenAPI document.
package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// Authenticator establishes who calls (see Caller); the server implements
// it with its own key ring, revocation check and directory. A plain error
// or a Refusal is a 401; CheckFailed is a 500.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}

// Caller is who sent a request: the principal its access token names, and
// the authority the directory gives that principal now. Roles holds
// directory.AdminRole only when the directory says the principal holds it
// at this moment; a role claim in the token is never the source (STYLE:
// authority comes from the directory, now). An Authenticator that refuses
// returns what it verified of the caller with the error, for the audit log.
type Caller struct {
	TenantID string
	Subject  string
	ClientID string
	Roles    []string
	// SystemAdmin: holds the admin role in the home tenant, and so may
	// administer every tenant and the server-wide objects (tenants, keys).
	SystemAdmin bool
}

// Config is what the API works with.
type Config struct {
	Directory *directory.Service
	// Keys may be nil where no key ring is at hand; the keys routes then
	// answer 500 and log why.
	Keys   token.KeyAdmin
	Auth   Authenticator
	Logger *slog.Logger
	// Now is the clock that decides whether a user's lock still holds;
	// nil means time.Now.
	Now func() time.Time
	// Audit records every change and serves the audit routes; nil
	// records nothing and the audit routes answer 500.
	Audit *audit.Recorder
}

// maxBody bounds every request body: the largest legitimate one (an
// application with many roles, or a certificate chain) is a few KiB.
const maxBody = 1 << 20

type api struct {
	dir  *directory.Service
	keys token.KeyAdmin
	auth Authenticator
	log  *slog.Logger
	now  func() time.Time
	mux  *http.ServeMux
	rec  *audit.Recorder
	// refusals bounds what refused requests write to the audit log.
	refusals refusals
}

// New returns the admin API handler. It serves full paths under
// /admin/v1/, so the server mounts it with mux.Handle("/admin/v1/", h).
func New(cfg Config) http.Handler {
	if cfg.Directory == nil || cfg.Auth == nil {
		panic("adminapi: Config needs a Directory and an Authenticator")
	}
	a := &api{dir: cfg.Directory, keys: cfg.Keys, auth: cfg.Auth, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux(), rec: cfg.Audit}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.routes()
	return a
}

// routes is the whole surface of the API, one line per route; the OpenAPI
// document describes the same list and the tests hold the two together.
func (a *api) routes() {
	const t = "/admin/v1/tenants/{tenant}"
	a.mux.HandleFunc("GET /admin/v1/openapi.yaml", serveSpec)

	a.handle("GET /admin/v1/tenants", a.system(a.listTenants))
	a.handle("POST /admin/v1/tenants", a.system(a.createTenant))
	a.handle("GET "+t, a.scoped(a.getTenant))
	a.handle("PUT "+t+"/policy", a.scoped(a.setTenantPolicy))
	a.handle("GET "+t+"/domains", a.scoped(a.listDomains))
	a.handle("POST "+t+"/domains", a.scoped(a.addDomain))
	a.handle("DELETE "+t+"/domains/{domain}", a.scoped(a.removeDomain))

	a.handle("GET "+t+"/applications", a.scoped(a.listApplications))
	a.handle("POST "+t+"/applications", a.scoped(a.createApplication))
	a.handle("GET "+t+"/applications/{app}", a.scoped(a.getApplication))
	a.handle("PATCH "+t+"/applications/{app}", a.scoped(a.updateApplication))
	a.handle("DELETE "+t+"/applications/{app}", a.scoped(a.deleteApplication))

	a.handle("GET "+t+"/applications/{app}/credentials", a.scoped(a.listCredentials))
	a.handle("POST "+t+"/applications/{app}/credentials", a.scoped(a.addCredential))
	a.handle("DELETE "+t+"/applications/{app}/credentials/{keyId}", a.scoped(a.removeCredential))

	a.handle("GET "+t+"/servicePrincipals", a.scoped(a.listServicePrincipals))
	a.handle("POST "+t+"/servicePrincipals", a.scoped(a.createServicePrincipal))
	a.handle("GET "+t+"/servicePrincipals/{sp}", a.scoped(a.getServicePrincipal))
	a.handle("PATCH "+t+"/servicePrincipals/{sp}", a.scoped(a.updateServicePrincipal))
	a.handle("DELETE "+t+"/servicePrincipals/{sp}", a.scoped(a.deleteServicePrincipal))

	a.handle("GET "+t+"/roleAssignments", a.scoped(a.listRoleAssignments))
	a.handle("POST "+t+"/roleAssignments", a.scoped(a.assignRole))
	a.handle("DELETE "+t+"/roleAssignments/{id}", a.scoped(a.removeRoleAssignment))

	a.handle("GET "+t+"/users", a.scoped(a.listUsers))
	a.handle("POST "+t+"/users", a.scoped(a.createUser))
	a.handle("GET "+t+"/users/{user}", a.scoped(a.getUser))
	a.handle("PATCH "+t+"/users/{user}", a.scoped(a.updateUser))
	a.handle("DELETE "+t+"/users/{user}", a.scoped(a.deleteUser))
	a.handle("POST "+t+"/users/{user}/password", a.scoped(a.setPassword))

	a.handle("GET "+t+"/consents", a.scoped(a.listConsents))
	a.handle("POST "+t+"/consents", a.scoped(a.grantConsent))
	a.handle("DELETE "+t+"/consents", a.scoped(a.revokeConsent))

	a.handle("GET "+t+"/bans", a.scoped(a.listBans))
	a.handle("DELETE "+t+"/bans/users/{user}", a.scoped(a.liftLockout))
	a.handle("DELETE "+t+"/bans/addresses/{address}", a.scoped(a.liftAddressBan))

	a.handle("GET "+t+"/audit", a.scoped(a.listAudit))

	a.handle("GET /admin/v1/audit", a.system(a.listAllAudit))
	a.handle("GET /admin/v1/keys", a.system(a.listKeys))
	a.handle("POST /admin/v1/keys/rotate", a.system(a.rotateKeys))
}

// endpoint is one route's work once the caller is authorized. It writes a
// success itself and returns any failure for the one error writer.
type endpoint func(w http.ResponseWriter, r *http.Request, c *call) error

// call is what an endpoint knows about the request beyond the request.
type call struct {
	caller Caller
	tenant directory.Tenant // set on tenant-scoped routes
}

func (a *api) handle(pattern string, h func(http.ResponseWriter, *http.Request) error) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Secrets pass through this API: nothing it answers, errors included,
	// may be kept by a cache (RFC 9111 §5.2.2.5).
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.writeError(w, r, internalf("panic: %v", v))
		}
	}()
	// Ask the mux first only to tell "no route" apart; serving goes
	// through mux.ServeHTTP, which is what sets r.PathValue.
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		a.noRoute(w, r, h)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// noRoute answers a request no route matches with the mux's status (404,
// or 405 with its Allow header) but in the API's JSON error shape.
func (a *api) noRoute(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		a.writeError(w, r, newError(kindMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path))
		return
	}
	a.writeError(w, r, newError(kindNotFound, "no admin API route "+r.URL.Path))
}

// statusRecorder keeps the status and headers a handler writes and drops
// its body.
type statusRecorder struct {
	header http.Header
	code   int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.code = code }

// authorize authenticates the caller and requires the admin role, which
// every route needs.
func (a *api) authorize(r *http.Request) (Caller, error) {
	c, err := a.auth.Authenticate(r)
	var failed checkFailed
	switch {
	case errors.As(err, &failed):
		return Caller{}, &apiError{kind: kindInternal, cause: err}
	case err != nil:
		return Caller{}, unauthorized(r, err).refusedBy(c, reasonOf(r, err))
	case !slices.Contains(c.Roles, directory.AdminRole):
		return Caller{}, forbidden("the caller does not hold the "+directory.AdminRole+" role").refusedBy(c, directory.AdminRefusedNotAdmin)
	}
	return c, nil
}

// system wraps an endpoint about server-wide objects: only a system admin
// may call it.
func (a *api) system(f endpoint) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := a.authorize(r)
		if err != nil {
			return err
		}
		if !c.SystemAdmin {
			return forbidden("only an administrator of the home tenant may manage tenants and keys").refusedBy(c, ReasonNotSystemAdmin)
		}
		return f(w, r, &call{caller: c})
	}
}

// scoped wraps an endpoint about objects inside the {tenant} of the path:
// the caller must administer that tenant.
func (a *api) scoped(f endpoint) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := a.authorize(r)
		if err != nil {
			return err
		}
		t, err := a.tenantFor(r.Context(), c, r.PathValue("tenant"))
		if err != nil {
			return err
		}
		return f(w, r, &call{caller: c, tenant: t})
	}
}

// tenantFor resolves the {tenant} segment and checks that the caller may
// administer it. A tenant admin gets 403 whether or not another tenant
// exists, so the API is no oracle for other tenants' names.
func (a *api) tenantFor(ctx context.Context, c Caller, ref string) (directory.Tenant, error) {
	const notYours = "the caller may administer only its own tenant"
	t, err := a.dir.ResolveTenant(ctx, ref)
	switch {
	case err != nil && !c.SystemAdmin && isNotFound(err):
		return directory.Tenant{}, forbidden(notYours).refusedBy(c, ReasonOtherTenant)
	case err != nil:
		return directory.Tenant{}, domainErr(err, "tenant "+quote(ref)+" does not exist", "")
	case !c.SystemAdmin && t.ID != c.TenantID:
		return directory.Tenant{}, forbidden(notYours).refusedBy(c, ReasonOtherTenant)
	}
	return t, nil
}
