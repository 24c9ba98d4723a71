package stored

import (
	"encoding/json"

	"github.com/tessera-id/tessera/internal/audit"
)

// DecodeAudit fills e's JSON columns from their stored text: details in
// audit's own encoding, before and after as given, an empty column
// standing for none.
func DecodeAudit(e *audit.Event, details, before, after string) error {
	d, err := audit.DecodeDetails(details)
	if err != nil {
		return err
	}
	e.Details = d
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return nil
}
