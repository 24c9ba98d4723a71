// Package audit is tessera's audit log: what happened (sign-ins, token
// issuance, admin changes, revocations, key rotations), who did it and to
// what, kept in the store and written to the structured log.
//
// An Event holds identifiers only: client ids, user object ids, grant ids,
// key ids. Never a token, secret, password, code or assertion: the log is
// read by more people than the tokens are meant for, and kept longer.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kinds of event. Admin changes are "admin.<object>.<verb>"
// (admin.user.update) and revocations "revocation.<what>".
const (
	SignInSuccess = "signin.success"
	SignInFailure = "signin.failure"
	TokenIssued   = "token.issued"
	KeyRotate     = "key.rotate"

	RevokeLogout       = "revocation.logout"      // a browser session ended, with its grants
	RevokeGrant        = "revocation.grant"       // one grant (RFC 7009, product logout, denied consent)
	RevokeToken        = "revocation.token"       // RFC 7009
	RevokeReuse        = "revocation.reuse"       // a rotated refresh token presented again
	RevokeUser         = "revocation.user"        // every grant of a user (disabled, deleted)
	RevokeClient       = "revocation.client"      // every grant of a client (credential removed)
	RevokeCodeReplayed = "revocation.code_replay" // an authorization code redeemed twice
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

// AllTenants, as the tenant of ListAudit, lists every tenant's events
// (the operator's view). It is a value no tenant id can take, so that
// "every tenant" is always asked for in so many words.
const AllTenants = "*"

// ServerWide is the tenant of events about no tenant's objects (signing
// keys, which sign for every tenant; a tenant created by a local
// operator is filed under itself). Only AllTenants lists them.
const ServerWide = "-"

// Event is one audit record.
type Event struct {
	// ID is assigned by the recorder when empty: unique, and the
	// tie-breaker of the list order.
	ID       string    `json:"id"`
	TenantID string    `json:"tenantId"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	// Actor is who acted: a user's object id, a client id, or an admin
	// caller as "user:<oid>" / "app:<client id>".
	Actor string `json:"actor,omitempty"`
	// Target is what was acted on: a user, an application, a grant, a key.
	Target  string `json:"target,omitempty"`
	Outcome string `json:"outcome"`
	// Reason says why a failure failed (bad_password, locked, disabled…).
	Reason string `json:"reason,omitempty"`
	// Details are further identifiers (grant type, resource, grant id).
	Details map[string]string `json:"details,omitempty"`
	// Before and After are an admin change's object as the admin API
	// shows it, which carries no secret.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// Query selects events to list.
type Query struct {
	// Since and Until bound Time: Since <= Time < Until; zero is unbounded.
	Since, Until time.Time
	// Kind selects a kind exactly ("signin.failure") or a family by its
	// prefix up to a dot ("signin", "admin.user").
	Kind string
	// Limit is the most events returned; it must be positive.
	Limit int
	// Cursor continues a list where the last page ended (Page.Next).
	Cursor string
}

// Page is one page of a list, oldest first.
type Page struct {
	Events []Event `json:"value"`
	// Next is the cursor of the next page; empty on the last one.
	Next string `json:"next,omitempty"`
}

// Repository is what the audit log needs from storage.
type Repository interface {
	// AppendAudit stores events, each under its own TenantID, in one
	// transaction: an event already stored (same tenant, time and id)
	// fails the whole batch. No foreign key ties an event to a tenant,
	// so that a tenant's history outlives the tenant.
	AppendAudit(ctx context.Context, events []Event) error
	// ListAudit returns the tenant's events (AllTenants: everyone's) that
	// match q, ordered by Time then ID. Never another tenant's.
	ListAudit(ctx context.Context, tenantID string, q Query) (Page, error)
	// PurgeAudit deletes at most limit events older than before, across
	// every tenant (retention), and returns how many it deleted.
	PurgeAudit(ctx context.Context, before time.Time, limit int) (int64, error)
}

// ErrBadCursor is a cursor no list handed out.
var ErrBadCursor = errors.New("audit: malformed cursor")

// ErrBadQuery is a query the store cannot run (a limit that is not
// positive, an empty tenant id).
var ErrBadQuery = errors.New("audit: bad query")

// Cursor is the position after the last event of a page: the engines
// return events after it in (Time, ID) order. Its text form is opaque to
// callers.
type Cursor struct {
	Time time.Time
	ID   string
}

// String encodes the cursor.
func (c Cursor) String() string {
	return strconv.FormatInt(c.Time.UnixMicro(), 10) + "." + c.ID
}

// ParseCursor decodes a cursor; the zero Cursor for "".
func ParseCursor(s string) (Cursor, bool, error) {
	if s == "" {
		return Cursor{}, false, nil
	}
	us, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || id == "" {
		return Cursor{}, false, ErrBadCursor
	}
	return Cursor{Time: time.UnixMicro(n).UTC(), ID: id}, true, nil
}

// KindLike is the SQL LIKE pattern (escape character '\') of a Kind
// family: "signin" matches "signin.success" and "signin.failure", not
// "signins.x". The engines match Kind exactly OR this pattern.
func KindLike(kind string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(kind) + ".%"
}

// Check validates what every engine requires of a list call.
func (q Query) Check(tenantID string) error {
	if tenantID == "" {
		return fmt.Errorf("%w: empty tenant id (use AllTenants for every tenant)", ErrBadQuery)
	}
	if q.Limit <= 0 {
		return fmt.Errorf("%w: limit must be positive", ErrBadQuery)
	}
	return nil
}

// EncodeDetails is the stored text of an event's details: JSON, or ""
// for none. Both engines store it so.
//
// It is encoding/json's text of the map, byte for byte (keys sorted),
// written without reflection when every key and value is plain ASCII
// that JSON needs no escape for: the writer encodes one per token issued.
func EncodeDetails(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "", nil
	}
	var keys [8]string
	ks := keys[:0]
	n := 2
	for k, v := range d {
		if !plainJSON(k) || !plainJSON(v) {
			b, err := json.Marshal(d)
			return string(b), err
		}
		ks = append(ks, k)
		n += len(k) + len(v) + 6
	}
	slices.Sort(ks)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range ks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":"`...)
		b = append(b, d[k]...)
		b = append(b, '"')
	}
	b = append(b, '}')
	return string(b), nil
}

// plainJSON reports whether encoding/json writes s as itself between
// quotes: printable ASCII without '"' and '\', and without the '<', '>'
// and '&' it escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// DecodeDetails reverses EncodeDetails; "" is nil.
func DecodeDetails(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var d map[string]string
	err := json.Unmarshal([]byte(s), &d)
	return d, err
}

// Bounds are a list's lower bound (after this time and id: Since, or the
// cursor when it is later) and upper bound (Until, or the far future).
// A zero lower id means "at or after the lower time".
func (q Query) Bounds() (lower time.Time, lowerID string, upper time.Time, err error) {
	c, ok, err := ParseCursor(q.Cursor)
	if err != nil {
		return time.Time{}, "", time.Time{}, err
	}
	lower = q.Since.UTC()
	if ok && !c.Time.Before(lower) {
		lower, lowerID = c.Time, c.ID
	}
	upper = q.Until.UTC()
	if q.Until.IsZero() {
		upper = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return lower, lowerID, upper, nil
}

// PageOf makes the page from up to limit+1 events read: the extra one
// only says that there is a next page.
func PageOf(events []Event, limit int) Page {
	if events == nil {
		events = []Event{}
	}
	if len(events) <= limit {
		return Page{Events: events}
	}
	events = events[:limit]
	last := events[len(events)-1]
	return Page{Events: events, Next: Cursor{Time: last.Time, ID: last.ID}.String()}
}
