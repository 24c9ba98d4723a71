// Package backup is tessera's backup archive: the whole state of a store
// (see store.Tables), engine-neutral, so that a backup made on SQLite
// restores on PostgreSQL and the other way round, and `tessera migrate
// copy` is a backup streamed into a restore.
//
// An archive is gzip-compressed JSON, one value per line:
//
//	{"format":"tessera-backup","version":1,"schema":10,...,"keyCheck":"…"}  the header
//	{"table":"tenants","columns":["id","domain",…]}                         each table, in store.Tables order,
//	["t1","contoso.example",…]                                               followed by its rows
//	{"end":{"rows":{"tenants":1,…},"counters":{…}}}                          the trailer
//
// Values travel as their store.Kind says: times as integer microseconds
// since the Unix epoch, bytes as base64, lists as arrays of strings.
//
// The master key is not in an archive. What the archive holds under it —
// the signing keys (sealed), client secrets and opaque tokens (keyed
// hashes), the sealed refresh responses — is useful only with the same
// master key, so a restore checks the key first: keyCheck is a value
// sealed under the master key the backup was made with, and a restore
// under another key is refused before it writes anything. Keep the master
// key apart from the backups (a key file next to the archive is the copy
// of the tokens the keyed hashes exist to prevent).
package backup

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const (
	formatName    = "tessera-backup"
	formatVersion = 1
)

// keyCheckPlain is what keyCheck seals; its place (AAD) is the archive's
// own, so no value from a database can pass for it.
var (
	keyCheckPlain = []byte("tessera backup key check")
	keyCheckAAD   = secrets.AAD("", "backup", "key_check", "")
)

// ErrWrongMasterKey: the archive was made under another master key.
var ErrWrongMasterKey = errors.New("this backup was made under another master key: restore with the master key of the server it was taken from (TESSERA_MASTER_KEY, or master.key in its data folder)")

// Header is an archive's first line.
type Header struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Schema is the store's schema version: a restore needs a tessera
	// that runs on the same one.
	Schema    int       `json:"schema"`
	Engine    string    `json:"engine"`
	CreatedAt time.Time `json:"createdAt"`
	Tessera   string    `json:"tessera,omitempty"`
	KeyCheck  []byte    `json:"keyCheck"`
}

// Summary is what a backup wrote or a restore read.
type Summary struct {
	Header   Header           `json:"header"`
	Rows     map[string]int64 `json:"rows"`
	Counters store.Counters   `json:"counters"`
}

type tableLine struct {
	Table   string   `json:"table"`
	Columns []string `json:"columns"`
}

// trailer is an archive's last line: what was written, to check what
// was read against.
type trailer struct {
	Rows     map[string]int64 `json:"rows"`
	Counters store.Counters   `json:"counters"`
}

type endLine struct {
	End *trailer `json:"end"`
}

// A Source is a store that dumps itself (both engines do).
type Source interface {
	Dump(ctx context.Context, w store.DumpWriter) error
}

// A Sink is a store that loads a dump into itself, all or nothing.
type Sink interface {
	Load(ctx context.Context, d store.DumpReader) error
}

// Info describes where an archive comes from.
type Info struct {
	Engine  string
	Tessera string
	Now     func() time.Time
}

// Write dumps src to w as an archive, with a key check sealed under keys
// (the master key src's secrets are under). The archive is complete only
// if Write returns nil; a reader refuses one cut short.
func Write(ctx context.Context, w io.Writer, src Source, keys *secrets.Keys, info Info) (Summary, error) {
	check, err := keys.Seal(keyCheckPlain, keyCheckAAD)
	if err != nil {
		return Summary{}, err
	}
	now := time.Now
	if info.Now != nil {
		now = info.Now
	}
	zw := gzip.NewWriter(w)
	aw := &writer{enc: json.NewEncoder(zw), sum: Summary{Rows: map[string]int64{}, Header: Header{
		Format: formatName, Version: formatVersion, Engine: info.Engine,
		CreatedAt: now().UTC().Truncate(time.Second), Tessera: info.Tessera, KeyCheck: check}}}
	if err := src.Dump(ctx, aw); err != nil {
		return Summary{}, err
	}
	if !aw.started {
		return Summary{}, errors.New("backup: the store wrote nothing")
	}
	if err := aw.enc.Encode(endLine{End: &trailer{aw.sum.Rows, aw.sum.Counters}}); err != nil {
		return Summary{}, err
	}
	if err := zw.Close(); err != nil {
		return Summary{}, err
	}
	return aw.sum, nil
}

// writer is the archive's store.DumpWriter.
type writer struct {
	enc     *json.Encoder
	sum     Summary
	started bool
	table   store.Table
	vals    []any
}

func (w *writer) Start(schema int, c store.Counters) error {
	if w.started {
		return errors.New("backup: the dump started twice")
	}
	w.started = true
	w.sum.Header.Schema, w.sum.Counters = schema, c
	return w.enc.Encode(w.sum.Header)
}

func (w *writer) Table(t store.Table) error {
	w.table = t
	w.vals = make([]any, len(t.Columns))
	w.sum.Rows[t.Name] = 0
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return w.enc.Encode(tableLine{Table: t.Name, Columns: names})
}

func (w *writer) Row(row []any) error {
	if len(row) != len(w.table.Columns) {
		return fmt.Errorf("backup: %s: a row of %d values for %d columns", w.table.Name, len(row), len(w.table.Columns))
	}
	for i, v := range row {
		switch x := v.(type) {
		case time.Time:
			w.vals[i] = x.UnixMicro()
		case string:
			if w.table.Columns[i].Kind == store.KindJSON {
				var err error
				if x, err = canonicalJSON(x); err != nil {
					return fmt.Errorf("backup: %s.%s: %w", w.table.Name, w.table.Columns[i].Name, err)
				}
			}
			w.vals[i] = x
		default:
			w.vals[i] = v
		}
	}
	w.sum.Rows[w.table.Name]++
	return w.enc.Encode(w.vals)
}

// canonicalJSON is doc with its keys sorted and no insignificant space:
// PostgreSQL's jsonb and SQLite's text keep one document differently, and
// an archive says the same thing the same way whichever engine it came
// from. Numbers keep their digits.
func canonicalJSON(doc string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// Reader reads an archive: its header at once (NewReader), then its
// tables and rows as a store.DumpReader.
type Reader struct {
	dec    *json.Decoder
	header Header
	// next is the line read ahead: NextRow stops at the line that is not
	// a row, which NextTable or Counters then takes.
	next  json.RawMessage
	table store.Table
	// tables is how many of store.Tables have been read; rows counts each
	// table's rows.
	tables   int
	inTable  bool
	rows     map[string]int64
	row      []any
	counters *store.Counters
}

// maxArchiveLine bounds one decoded line (a row with a large sealed value
// or audit details is a few kilobytes; a corrupt archive must not make the
// reader buffer without end).
const maxArchiveLine = 16 << 20

// NewReader reads the header of the archive in r.
func NewReader(r io.Reader) (*Reader, error) {
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("backup: not a tessera backup (%w)", err)
	}
	ar := &Reader{dec: json.NewDecoder(&limitedLines{r: zr}), rows: map[string]int64{}}
	ar.dec.UseNumber()
	if err := ar.dec.Decode(&ar.header); err != nil {
		return nil, fmt.Errorf("backup: not a tessera backup: %w", err)
	}
	switch {
	case ar.header.Format != formatName:
		return nil, fmt.Errorf("backup: not a tessera backup (format %q)", ar.header.Format)
	case ar.header.Version != formatVersion:
		return nil, fmt.Errorf("backup: archive format version %d; this tessera reads version %d", ar.header.Version, formatVersion)
	}
	return ar, nil
}

// Header is the archive's header.
func (r *Reader) Header() Header { return r.header }

// CheckKey reports whether keys is the master key the archive was made
// under (ErrWrongMasterKey if not).
func (r *Reader) CheckKey(keys *secrets.Keys) error {
	pt, err := keys.Open(r.header.KeyCheck, keyCheckAAD)
	if err != nil || string(pt) != string(keyCheckPlain) {
		return ErrWrongMasterKey
	}
	return nil
}

// SchemaVersion implements store.DumpReader.
func (r *Reader) SchemaVersion() int { return r.header.Schema }

func (r *Reader) line() (json.RawMessage, error) {
	if r.next != nil {
		l := r.next
		r.next = nil
		return l, nil
	}
	var l json.RawMessage
	if err := r.dec.Decode(&l); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("backup: the archive is cut short (no trailer): it is incomplete")
		}
		return nil, fmt.Errorf("backup: corrupt archive: %w", err)
	}
	return l, nil
}

// NextTable implements store.DumpReader: the tables must come complete
// and in store.Tables order.
func (r *Reader) NextTable() (store.Table, bool, error) {
	if r.inTable {
		// Skip what the caller did not read, counting it.
		for {
			_, ok, err := r.NextRow()
			if err != nil {
				return store.Table{}, false, err
			}
			if !ok {
				break
			}
		}
	}
	if r.tables == len(store.Tables) {
		return store.Table{}, false, nil
	}
	l, err := r.line()
	if err != nil {
		return store.Table{}, false, err
	}
	var tl tableLine
	if err := json.Unmarshal(l, &tl); err != nil || tl.Table == "" {
		return store.Table{}, false, fmt.Errorf("backup: corrupt archive: expected table %s", store.Tables[r.tables].Name)
	}
	want := store.Tables[r.tables]
	if tl.Table != want.Name {
		return store.Table{}, false, fmt.Errorf("backup: corrupt archive: table %q where %s was expected", tl.Table, want.Name)
	}
	if len(tl.Columns) != len(want.Columns) {
		return store.Table{}, false, fmt.Errorf("backup: table %s has %d columns in the archive, %d here", want.Name, len(tl.Columns), len(want.Columns))
	}
	for i, c := range want.Columns {
		if tl.Columns[i] != c.Name {
			return store.Table{}, false, fmt.Errorf("backup: table %s: column %q in the archive where %s is expected", want.Name, tl.Columns[i], c.Name)
		}
	}
	r.tables++
	r.table, r.inTable = want, true
	r.rows[want.Name] = 0
	r.row = make([]any, len(want.Columns))
	return want, true, nil
}

// NextRow implements store.DumpReader.
func (r *Reader) NextRow() ([]any, bool, error) {
	if !r.inTable {
		return nil, false, nil
	}
	l, err := r.line()
	if err != nil {
		return nil, false, err
	}
	if len(l) == 0 || l[0] != '[' {
		r.next, r.inTable = l, false
		return nil, false, nil
	}
	var vals []json.RawMessage
	if err := json.Unmarshal(l, &vals); err != nil {
		return nil, false, fmt.Errorf("backup: corrupt archive: table %s: %w", r.table.Name, err)
	}
	if len(vals) != len(r.table.Columns) {
		return nil, false, fmt.Errorf("backup: corrupt archive: table %s: a row of %d values for %d columns", r.table.Name, len(vals), len(r.table.Columns))
	}
	for i, c := range r.table.Columns {
		if r.row[i], err = decodeValue(c, vals[i]); err != nil {
			return nil, false, fmt.Errorf("backup: corrupt archive: %s.%s: %w", r.table.Name, c.Name, err)
		}
	}
	r.rows[r.table.Name]++
	return r.row, true, nil
}

// Counters implements store.DumpReader: after the last table comes the
// trailer, whose row counts must be what was read, and then nothing.
func (r *Reader) Counters() (store.Counters, error) {
	if r.counters != nil {
		return *r.counters, nil
	}
	if _, ok, err := r.NextTable(); err != nil {
		return store.Counters{}, err
	} else if ok {
		return store.Counters{}, errors.New("backup: Counters before the last table")
	}
	l, err := r.line()
	if err != nil {
		return store.Counters{}, err
	}
	var end endLine
	if err := json.Unmarshal(l, &end); err != nil || end.End == nil {
		return store.Counters{}, errors.New("backup: corrupt archive: expected the trailer after the last table")
	}
	for _, t := range store.Tables {
		if end.End.Rows[t.Name] != r.rows[t.Name] {
			return store.Counters{}, fmt.Errorf("backup: corrupt archive: table %s: %d rows read, the trailer says %d", t.Name, r.rows[t.Name], end.End.Rows[t.Name])
		}
	}
	if len(end.End.Rows) != len(store.Tables) {
		return store.Counters{}, errors.New("backup: corrupt archive: the trailer counts other tables")
	}
	var extra json.RawMessage
	if err := r.dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return store.Counters{}, errors.New("backup: corrupt archive: data after the trailer")
	}
	r.counters = &end.End.Counters
	return *r.counters, nil
}

// Rows is how many rows of each table have been read.
func (r *Reader) Rows() map[string]int64 { return r.rows }

func decodeValue(c store.Column, raw json.RawMessage) (any, error) {
	if string(raw) == "null" {
		if c.Null {
			return nil, nil
		}
		return nil, errors.New("null in a column that may not be")
	}
	switch c.Kind {
	case store.KindText, store.KindJSON:
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case store.KindInt, store.KindTime:
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, err
		}
		if c.Kind == store.KindTime {
			return time.UnixMicro(n).UTC(), nil
		}
		return n, nil
	case store.KindBool:
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, err
	case store.KindBytes:
		var b []byte
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, err
		}
		return stored.NonNil(b), nil
	case store.KindList:
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, err
		}
		if l == nil {
			return nil, errors.New("null list")
		}
		return l, nil
	}
	return nil, fmt.Errorf("column of unknown kind %d", c.Kind)
}

// Restore reads the archive in r into dst, under keys: the key check
// first, so that an archive of another master key is refused before dst
// is touched, then dst loads it, all or nothing.
func Restore(ctx context.Context, r *Reader, dst Sink, keys *secrets.Keys) (Summary, error) {
	if err := r.CheckKey(keys); err != nil {
		return Summary{}, err
	}
	if err := dst.Load(ctx, r); err != nil {
		return Summary{}, err
	}
	c, err := r.Counters()
	if err != nil {
		return Summary{}, err
	}
	return Summary{Header: r.header, Rows: r.rows, Counters: c}, nil
}

// limitedLines fails a read once maxArchiveLine bytes have gone by
// without a newline: the encoder ends every value with one.
type limitedLines struct {
	r   io.Reader
	run int
}

func (l *limitedLines) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.run = 0
		} else if l.run++; l.run > maxArchiveLine {
			return 0, fmt.Errorf("a line longer than %d bytes", maxArchiveLine)
		}
	}
	return n, err
}
