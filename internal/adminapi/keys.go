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
	ks, err := a.keys.RotateKeys(r.Context())
	if errors.Is(err, token.ErrKeysChanged) {
		return &apiError{kind: kindConflict, message: "another rotation won the race: list the keys before rotating again", cause: err}
	}
	if err != nil {
		return internalf("adminapi: rotate keys: %w", err)
	}
	a.audit(r, c, "keys.rotate")
	writeJSON(w, http.StatusOK, list(ks))
	return nil
}
