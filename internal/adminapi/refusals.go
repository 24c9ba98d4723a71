package adminapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
)

// KindRefused is the audit kind of a request the admin API refused with
// 401 or 403: a revoked or stale token, a principal disabled or stripped
// of the role, a tenant administrator probing another tenant or the
// server-wide routes. Its reason says which; its details name the route
// (method and pattern: ids stay out, the pattern says what was tried), the
// status, and how many refusals of that caller, route and reason the event
// stands for.
const KindRefused = "admin.refused"

// Reasons of refusals that the admin API decides itself; the
// Authenticator names its own (Refuse), the directory's are
// directory.AdminRefused….
const (
	ReasonNoToken        = "no_token"
	ReasonInvalidToken   = "invalid_token"
	ReasonRevoked        = "revoked"
	ReasonOtherTenant    = "other_tenant"
	ReasonNotSystemAdmin = "not_system_admin"
)

// Refusal is an Authenticator's reason to answer 401: Reason names it in
// the audit log, Err is the detail for the server log.
type Refusal struct {
	Reason string
	Err    error
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// Refuse is an Authenticator's 401 with a reason for the audit log.
func Refuse(reason string, err error) error { return &Refusal{Reason: reason, Err: err} }

// CheckFailed wraps an Authenticator's failure to decide (the store did
// not answer): the request gets a 500 with a trace id, not a 401 that
// would tell a client to drop a good token.
func CheckFailed(err error) error { return checkFailed{err} }

type checkFailed struct{ err error }

func (c checkFailed) Error() string { return "checking the caller failed: " + c.err.Error() }
func (c checkFailed) Unwrap() error { return c.err }

// refused is who was refused, as far as known, and why.
type refused struct {
	caller Caller
	reason string
}

// refusedBy marks e as a refusal of c for reason.
func (e *apiError) refusedBy(c Caller, reason string) *apiError {
	e.refused = &refused{caller: c, reason: reason}
	return e
}

// reasonOf names an Authenticator's failure.
func reasonOf(r *http.Request, err error) string {
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		return ref.Reason
	case r.Header.Get("Authorization") == "":
		return ReasonNoToken
	}
	return ReasonInvalidToken
}

// refusalWindow is how often one caller's refusals of one kind on one
// route are written: the first at once, the rest counted and written
// with the next one after the window (or swept with another refusal).
// Without it, anyone could turn a loop of unauthenticated requests into
// as many audit rows; with it, a flood is one row a minute per route and
// reason, carrying its count.
const refusalWindow = time.Minute

// maxRefusalKeys bounds the keys counted at once; past it, refusals of
// new callers are counted under their route and reason alone.
const maxRefusalKeys = 10_000

type refusalKey struct {
	tenant, actor, client, reason, method, route, pathTenant string
	status                                                   int
}

type refusalCount struct {
	key   refusalKey
	count int
}

type refusalEntry struct {
	start   time.Time
	pending int // refusals since the last one written
}

// refusals aggregates refusals per key and window.
type refusals struct {
	mu      sync.Mutex
	seen    map[refusalKey]*refusalEntry
	sweptAt time.Time
}

// note counts one refusal at now and returns what to write: this refusal
// (count 1) when it opens a window for its key, and the counts held for
// keys whose window has ended.
func (l *refusals) note(k refusalKey, now time.Time) []refusalCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[refusalKey]*refusalEntry{}
	}
	var out []refusalCount
	if now.Sub(l.sweptAt) >= refusalWindow {
		l.sweptAt = now
		for key, e := range l.seen {
			if now.Sub(e.start) >= refusalWindow {
				if e.pending > 0 {
					out = append(out, refusalCount{key, e.pending})
				}
				delete(l.seen, key)
			}
		}
	}
	if _, ok := l.seen[k]; !ok && len(l.seen) >= maxRefusalKeys {
		k = refusalKey{tenant: audit.ServerWide, reason: k.reason, method: k.method, route: k.route, status: k.status}
	}
	if e, ok := l.seen[k]; ok {
		if now.Sub(e.start) < refusalWindow {
			e.pending++
			return out
		}
		if e.pending > 0 {
			out = append(out, refusalCount{k, e.pending})
		}
	}
	l.seen[k] = &refusalEntry{start: now}
	return append(out, refusalCount{k, 1})
}

// auditRefusal records a 401 or 403 in the audit log. Queued (Record), not
// written before answering: refusals come at whatever rate callers send
// them. Never the token: only what the server verified of it.
func (a *api) auditRefusal(r *http.Request, e *apiError, status int) {
	ref := e.refused
	if ref == nil {
		ref = &refused{reason: ReasonInvalidToken}
	}
	c := ref.caller
	k := refusalKey{tenant: c.TenantID, actor: callerOf(c), client: c.ClientID, reason: ref.reason,
		method: r.Method, route: routeOf(r), status: status}
	if k.tenant == "" {
		k.tenant = audit.ServerWide
	} else if t := r.PathValue("tenant"); t != "" {
		// What a known caller aimed at, as it wrote it: one of its own
		// names, or another tenant it probed.
		k.pathTenant = clip(t, 64)
	}
	for _, rc := range a.refusals.note(k, a.now()) {
		ev := audit.Event{Kind: KindRefused, TenantID: rc.key.tenant, Time: a.now(), Actor: rc.key.actor, Outcome: audit.Failure,
			Reason: rc.key.reason, Details: map[string]string{"method": rc.key.method, "route": rc.key.route,
				"status": strconv.Itoa(rc.key.status), "count": strconv.Itoa(rc.count)}}
		if rc.key.client != "" {
			ev.Details["client_id"] = rc.key.client
		}
		if rc.key.pathTenant != "" {
			ev.Details["path_tenant"] = rc.key.pathTenant
		}
		if a.rec == nil {
			a.log.InfoContext(r.Context(), "admin api refused", "tenant", ev.TenantID, "actor", ev.Actor, "reason", ev.Reason,
				"route", ev.Details["route"], "count", rc.count)
			continue
		}
		a.rec.Record(ev)
	}
}

// routeOf is the route pattern the request matched, without its method
// ("/admin/v1/tenants/{tenant}/users"): what was tried, without the ids.
func routeOf(r *http.Request) string {
	p := r.Pattern
	if _, path, ok := strings.Cut(p, " "); ok {
		p = path
	}
	if p == "" {
		return "(no route)"
	}
	return p
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
