package stored

import (
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/internal/token"
)

// InitKeys is the body of the InitSigningKeys transaction, over the
// engine's statements: if exists finds a key, nothing is written;
// otherwise insert stores each key. wrote reports whether the keys were
// stored. The engine supplies the locking that makes the check and the
// inserts one decision.
func InitKeys(keys []token.KeyRecord, exists func() (bool, error), insert func(token.KeyRecord) error) (wrote bool, err error) {
	found, err := exists()
	if err != nil || found {
		return false, err
	}
	for _, k := range keys {
		if err := insert(k); err != nil {
			return false, fmt.Errorf("key %s: %w", k.ID, err)
		}
	}
	return true, nil
}

// KeyRotation is the engine's statements of a RotateSigningKeys
// transaction, in the order RotateKeys runs them.
type KeyRotation struct {
	// Retire retires the active key only while it is still active (a
	// compare-and-swap) and returns the number of rows it changed.
	Retire func() (int64, error)
	// Activate activates the next key and returns the number of rows it
	// changed.
	Activate func() (int64, error)
	// Insert stores the new next key.
	Insert func(token.KeyRecord) error
	// Prune deletes the retired keys no longer published.
	Prune func() error
}

// RotateKeys is the body of the RotateSigningKeys transaction:
// token.ErrKeysChanged if another rotation retired the active key first,
// and an error (rolling everything back) if there is no next key to
// activate.
func RotateKeys(r KeyRotation, newNext token.KeyRecord) error {
	n, err := r.Retire()
	if err != nil {
		return err
	}
	if n == 0 {
		return token.ErrKeysChanged
	}
	if n, err = r.Activate(); err != nil {
		return err
	}
	if n == 0 {
		// Retiring the active key with nothing to replace it would leave
		// the server unable to sign.
		return errors.New("no next key to activate")
	}
	if err := r.Insert(newNext); err != nil {
		return fmt.Errorf("new key %s: %w", newNext.ID, err)
	}
	return r.Prune()
}
