package oauth

import (
	"net/http"
	"strconv"
	"time"
)

// The revocation feed's page sizes.
const (
	feedDefaultLimit = 500
	feedMaxLimit     = 1000
)

// feedEntry is one entry of the revocation feed on the wire. The guard
// reads exactly these names. aud and prior are a superseded entry's only
// (session.RevokeSuperseded): a guard that predates that kind skips the
// entry, and an entry of another kind has neither.
type feedEntry struct {
	Seq       int64  `json:"seq"`
	Kind      string `json:"kind"`
	Value     string `json:"value"`
	Audience  string `json:"aud,omitempty"`
	Prior     string `json:"prior,omitempty"`
	RevokedAt string `json:"revokedAt"`
	ExpiresAt string `json:"expiresAt"`
}

type feedBody struct {
	Revocations []feedEntry `json:"revocations"`
	// Next is the cursor to ask after next time: the last seq returned,
	// or after itself when there was none.
	Next int64 `json:"next"`
}

// revocationFeed serves GET /{tenant}/oauth2/v2.0/revocations?after=N&limit=M:
// the tenant's revocations after a cursor, in order, for resource servers
// (the guard) to refuse revoked tokens before they expire. Entries stay
// until every token they concern has expired; a superseded entry goes
// sooner when a later refresh of its grant for the same audience takes its
// place with a higher seq. The feed is public like the keys: it names
// grant, user and client ids, audiences and token ids, never tokens.
func (h *Handler) revocationFeed(w http.ResponseWriter, r *http.Request) {
	if oerr := h.serveFeed(w, r); oerr != nil {
		writeError(w, r, h.log, oerr)
	}
}

func (h *Handler) serveFeed(w http.ResponseWriter, r *http.Request) *Error {
	t, oerr := h.resolveTenant(r.Context(), r.PathValue("tenant"))
	if oerr != nil {
		return oerr
	}
	q := r.URL.Query()
	after, limit := int64(0), feedDefaultLimit
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errInvalidRequest("after must be a sequence number: an integer of 0 or more.")
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errInvalidRequest("limit must be an integer of 1 or more.")
		}
		limit = min(n, feedMaxLimit)
	}
	page, err := h.sessions.Feed(r.Context(), t.ID, after, limit)
	if err != nil {
		return errServer(err)
	}
	body := feedBody{Revocations: make([]feedEntry, 0, len(page)), Next: after}
	for _, e := range page {
		body.Revocations = append(body.Revocations, feedEntry{Seq: e.Seq, Kind: e.Kind, Value: e.Value, Audience: e.Audience,
			Prior: e.Prior, RevokedAt: rfc3339(e.RevokedAt), ExpiresAt: rfc3339(e.ExpiresAt)})
		body.Next = e.Seq
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// rfc3339 writes a time as RFC 3339 with the store's sub-second
// precision, which Go's time.Time (the guard's decoding) reads as is.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
