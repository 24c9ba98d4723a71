package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
)

// audit records a change: who changed what. attrs are key, value pairs;
// "target" names the object changed, the others go to the event's
// details. Never a secret: callers pass identifiers only.
func (a *api) audit(r *http.Request, c *call, op string, attrs ...any) {
	a.auditChange(r, c, op, nil, nil, attrs...)
}

// auditChange is audit with the object as the API showed it before and
// after the change (its wire type, which holds no secret).
//
// Written synchronously (RecordNow), unlike token and sign-in events:
// admin changes are rare and made by operators, and the record should be
// durable before the API answers, so that `tessera admin audit list`
// right after the change shows it. A failure to store it is logged as an
// error (the change itself is made and stays made); the structured log
// has the event either way.
func (a *api) auditChange(r *http.Request, c *call, op string, before, after any, attrs ...any) {
	ev := audit.Event{Kind: "admin." + op, TenantID: c.tenant.ID, Time: a.now(), Actor: callerOf(c.caller), Outcome: audit.Success,
		Details: map[string]string{}}
	if c.caller.ClientID != "" {
		ev.Details["client_id"] = c.caller.ClientID
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		k, _ := attrs[i].(string)
		v := fmt.Sprint(attrs[i+1])
		if k == "target" {
			ev.Target = v
			continue
		}
		ev.Details[k] = v
	}
	ev.Before, ev.After = rawJSON(before), rawJSON(after)
	if ev.TenantID == "" && strings.HasPrefix(op, "tenant.") {
		ev.TenantID = ev.Target // a new tenant's history starts with its creation
	}
	if ev.TenantID == "" {
		ev.TenantID = audit.ServerWide
	}
	if op == "keys.rotate" {
		ev.Kind = audit.KeyRotate
	}
	if a.rec == nil {
		a.log.InfoContext(r.Context(), "admin change", "op", op, "tenant", ev.TenantID, "actor", ev.Actor, "target", ev.Target)
		return
	}
	_ = a.rec.RecordNow(r.Context(), ev) // logs its own failure
}

// callerOf names an admin caller in the audit log: its object id (a user
// or a service principal), or the local operator's name.
func callerOf(c Caller) string {
	if c.Subject != "" {
		return c.Subject
	}
	return c.ClientID
}

func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// AuditList is a page of the audit log, oldest first, with the cursor of
// the next page when there is one.
type AuditList struct {
	Value []audit.Event `json:"value"`
	Next  string        `json:"next,omitempty"`
}

// maxAuditLimit bounds one page.
const maxAuditLimit = 1000

// listAudit lists the tenant's audit events: ?since=&until= (RFC 3339),
// ?kind= (exact, or a family such as "signin"), ?limit= (default 100),
// ?cursor= (from the previous page's next).
func (a *api) listAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.serveAuditList(w, r, c.tenant.ID)
}

// listAllAudit is listAudit over every tenant, and the server-wide events
// (key rotations): for system admins.
func (a *api) listAllAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.serveAuditList(w, r, audit.AllTenants)
}

func (a *api) serveAuditList(w http.ResponseWriter, r *http.Request, tenantID string) error {
	if a.rec == nil {
		return internalf("adminapi: no audit log configured")
	}
	qs := r.URL.Query()
	q := audit.Query{Kind: qs.Get("kind"), Limit: 100, Cursor: qs.Get("cursor")}
	var err error
	if q.Since, err = queryTime(qs.Get("since"), "since"); err != nil {
		return err
	}
	if q.Until, err = queryTime(qs.Get("until"), "until"); err != nil {
		return err
	}
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxAuditLimit {
			return badRequest("limit must be a whole number from 1 to %d", maxAuditLimit)
		}
		q.Limit = n
	}
	if _, _, err := audit.ParseCursor(q.Cursor); err != nil {
		return badRequest("cursor is not one a previous page handed out")
	}
	page, err := a.rec.List(r.Context(), tenantID, q)
	if err != nil {
		return internalf("adminapi: list audit events: %w", err)
	}
	writeJSON(w, http.StatusOK, AuditList{Value: page.Events, Next: page.Next})
	return nil
}

func queryTime(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badRequest("%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}
