package stored

import (
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/store"
)

// What both engines' Dump and Load share (see store.Tables): the order of
// the work, the checks, and the messages. Each engine only reads and
// writes its own rows.

// DumpTables writes the header, then every table of store.Tables, each
// followed by its rows, which dumpRows writes for the table it is given.
func DumpTables(w store.DumpWriter, schemaVersion int, c store.Counters, dumpRows func(store.Table) error) error {
	if err := w.Start(schemaVersion, c); err != nil {
		return err
	}
	for _, t := range store.Tables {
		if err := w.Table(t); err != nil {
			return err
		}
		if err := dumpRows(t); err != nil {
			return err
		}
	}
	return nil
}

// LoadTables is the body of a Load, inside the engine's transaction: it
// refuses a dump of another schema version and a store that holds any row
// (a restore adds to nothing, so that what comes back is exactly what was
// backed up), loads each table of the dump with loadRows, and returns the
// dump's counters for the engine to set.
func LoadTables(engine string, latest int, d store.DumpReader, hasRows func(table string) (bool, error),
	loadRows func(store.Table) error) (store.Counters, error) {
	if v := d.SchemaVersion(); v != latest {
		return store.Counters{}, fmt.Errorf("%s: restore: the backup is of schema version %d, this tessera runs on %d: restore it with the tessera version that made it, then upgrade", engine, v, latest)
	}
	for _, t := range store.Tables {
		some, err := hasRows(t.Name)
		if err != nil {
			return store.Counters{}, fmt.Errorf("%s: restore: %w", engine, err)
		}
		if some {
			return store.Counters{}, fmt.Errorf("%s: restore: %w (table %s has rows)", engine, store.ErrNotEmpty, t.Name)
		}
	}
	for {
		t, ok, err := d.NextTable()
		if err != nil {
			return store.Counters{}, err
		}
		if !ok {
			return d.Counters()
		}
		if err := loadRows(t); err != nil {
			return store.Counters{}, err
		}
	}
}

// ColumnNames is t's column list for SQL, each name passed through as
// (a cast for a kind the engine reads otherwise), in dump order.
func ColumnNames(t store.Table, as func(store.Column) string) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
		if as != nil {
			names[i] = as(c)
		}
	}
	return strings.Join(names, ", ")
}

// CheckKind refuses a value of another Go type than its column's kind
// names (store.Kind), so that no engine writes a guess.
func CheckKind(c store.Column, v any) error {
	ok := false
	switch v.(type) {
	case nil:
		ok = c.Null
	case string:
		ok = c.Kind == store.KindText || c.Kind == store.KindJSON
	case int64:
		ok = c.Kind == store.KindInt
	case time.Time:
		ok = c.Kind == store.KindTime
	case bool:
		ok = c.Kind == store.KindBool
	case []byte:
		ok = c.Kind == store.KindBytes
	case []string:
		ok = c.Kind == store.KindList
	}
	if !ok {
		return fmt.Errorf("unexpected %T for a column of kind %d", v, c.Kind)
	}
	return nil
}
