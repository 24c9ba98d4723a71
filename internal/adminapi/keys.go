package adminapi

import (
	"errors"
	"net/http"

	"github.com/tessera-id/tessera/internal/token"
)

func (a *api) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	if a.keys == nil {
		return internalf("adminapi: no key ring configured")
	}
	ks, err := a.keys.ListKeys(r.Context())
	if err != nil {
		return internalf("adminapi: list keys: %w", err)
	}
	writeJSON(w, http.StatusOK, list(ks))
	return nil
}

// rotateKeys answers with the key ring after the rotation, so the operator
// sees the new active and next keys at once.
func (a *api) rotateKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	if a.keys == nil {
		return internalf("adminapi: no key ring configured")
	}
	// The ring as it was, for the audit record; a rotation does not
	// depend on reading it.
	var before any
	if ks, err := a.keys.ListKeys(r.Context()); err == nil {
		before = list(ks)
	}
	ks, err := a.keys.RotateKeys(r.Context())
	if errors.Is(err, token.ErrKeysChanged) {
		return &apiError{kind: kindConflict, message: "another rotation won the race: list the keys before rotating again", cause: err}
	}
	if err != nil {
		return internalf("adminapi: rotate keys: %w", err)
	}
	a.auditChange(r, c, "keys.rotate", before, list(ks), "target", activeKey(ks))
	writeJSON(w, http.StatusOK, list(ks))
	return nil
}

// activeKey is the id of the active key in ks: what a rotation's audit
// record names as its target.
func activeKey(ks []token.KeyInfo) string {
	for _, k := range ks {
		if k.State == token.KeyActive {
			return k.ID
		}
	}
	return ""
}
