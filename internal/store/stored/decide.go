package stored

import (
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// MergeScopes returns the scopes of have followed by those of add it does
// not hold yet, each once. It is PutConsent's rule: if the principal
// already consented to scopes of the resource for the client, g's scopes
// are added to that grant (those it holds keep their place, new ones
// follow in g's order, none twice), its CreatedAt is kept and its
// UpdatedAt becomes g's: a consent only ever grows; DeleteConsent
// withdraws it. directory.ErrNotFound if the tenant does not exist. Scope
// values compare case-sensitively (RFC 6749 §3.3). The result is never
// nil.
func MergeScopes(have, add []string) []string {
	out := make([]string, 0, len(have)+len(add))
	seen := make(map[string]bool, len(have)+len(add))
	for _, list := range [][]string{have, add} {
		for _, sc := range list {
			if !seen[sc] {
				seen[sc] = true
				out = append(out, sc)
			}
		}
	}
	return out
}

// ConsumePurgeBatch bounds the expired single-use values one ConsumeOnce
// deletes. Each call adds at most one row and removes up to
// ConsumePurgeBatch, so the table stays near its live size without a
// background job, and no call pays for a backlog all at once.
const ConsumePurgeBatch = 64

// Consumed is ConsumeOnce's answer from the number of rows its conditional
// upsert changed: none means a live record of the key, so a replay.
func Consumed(upserted int64) error {
	if upserted == 0 {
		return fmt.Errorf("%w before its expiry", directory.ErrReplay)
	}
	return nil
}

// GrantsOfEntry is the feed entry RevokeGrantsOf appends besides the
// grants' own: RevokeSubject for all grants of a user, RevokeClient for all
// of a client (covering the client's tokens without a grant too), and none
// (kind "") for the grants of one user with one client, since a subject or
// client entry would end tokens of other clients or other users. Neither
// set is an error.
func GrantsOfEntry(userID, clientID string) (kind, value string, err error) {
	switch {
	case userID != "" && clientID != "":
		return "", "", nil
	case userID != "":
		return session.RevokeSubject, userID, nil
	case clientID != "":
		return session.RevokeClient, clientID, nil
	}
	return "", "", errors.New("need a user or a client")
}
