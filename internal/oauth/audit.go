package oauth

import (
	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
)

// issuedToken is what the audit log keeps of a token response: who the
// token is about and for which resource, never the token.
type issuedToken struct {
	subject  string // the user's object id, or the client's service principal's
	resource string // the audience's app id
	grantID  string // the user grant (sid), if any
	// replay: the response repeats one already recorded (a refresh
	// retried within the grace window).
	replay bool
}

// recordIssued records a token response: what the issuance phase
// returned. Through the recorder's queue: on client credentials this runs
// thousands of times a second, and issuance never waits on the audit log.
func (h *Handler) recordIssued(grantType, tenantID string, client directory.Client, rec issuedToken) {
	if h.audit == nil {
		return
	}
	d := map[string]string{"grant_type": grantType, "resource": rec.resource}
	if rec.grantID != "" {
		d["grant_id"] = rec.grantID
	}
	if rec.replay {
		d["replay"] = "true"
		delete(d, "resource")
	}
	h.audit.Record(audit.Event{TenantID: tenantID, Time: h.now(), Kind: audit.TokenIssued, Actor: client.App.AppID,
		Target: rec.subject, Outcome: audit.Success, Details: d})
}
