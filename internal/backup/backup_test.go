package backup_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/backup"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

func keys(t testing.TB, b byte) *secrets.Keys {
	k, err := secrets.New(bytes.Repeat([]byte{b}, secrets.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// archiveOf is the backup of a new SQLite store: its tables, all empty,
// and its counters.
func archiveOf(t testing.TB) []byte {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var buf bytes.Buffer
	if _, err := backup.Write(t.Context(), &buf, s, keys(t, 1), backup.Info{Engine: "sqlite"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// drain reads an archive to its end as a restore would.
func drain(r *backup.Reader) error {
	for {
		_, ok, err := r.NextTable()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		for {
			_, ok, err := r.NextRow()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
		}
	}
	_, err := r.Counters()
	return err
}

func gz(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

func TestReaderTakesAWholeArchiveAndRefusesOthers(t *testing.T) {
	whole := archiveOf(t)
	r, err := backup.NewReader(bytes.NewReader(whole))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckKey(keys(t, 1)); err != nil {
		t.Errorf("the key it was made with: %v", err)
	}
	if err := r.CheckKey(keys(t, 2)); !errors.Is(err, backup.ErrWrongMasterKey) {
		t.Errorf("another key: %v", err)
	}
	if err := drain(r); err != nil {
		t.Fatalf("a whole archive: %v", err)
	}
	if got := len(r.Rows()); got != len(store.Tables) {
		t.Errorf("read %d tables, want %d", got, len(store.Tables))
	}

	header := `{"format":"tessera-backup","version":1,"schema":10,"engine":"x","createdAt":"2026-01-01T00:00:00Z","keyCheck":""}` + "\n"
	for name, archive := range map[string][]byte{
		"not gzip":        []byte("hello"),
		"other format":    gz(`{"format":"zip","version":1}` + "\n"),
		"newer version":   gz(`{"format":"tessera-backup","version":2}` + "\n"),
		"no tables":       gz(header),
		"a wrong table":   gz(header + `{"table":"users","columns":[]}` + "\n"),
		"a wrong column":  gz(header + `{"table":"tenants","columns":["id","domain","x","display_name","created_at","policy"]}` + "\n"),
		"a short row":     gz(header + `{"table":"tenants","columns":["id","domain","domain_key","display_name","created_at","policy"]}` + "\n" + `["t"]` + "\n"),
		"a wrong type":    gz(header + `{"table":"tenants","columns":["id","domain","domain_key","display_name","created_at","policy"]}` + "\n" + `["t","d","d","n","yesterday","{}"]` + "\n"),
		"a null":          gz(header + `{"table":"tenants","columns":["id","domain","domain_key","display_name","created_at","policy"]}` + "\n" + `[null,"d","d","n",1,"{}"]` + "\n"),
		"trailing data":   append(whole[:len(whole):len(whole)], gz("[1]\n")...),
		"counts that lie": gz(strings.Replace(gunzip(t, whole), `"tenants":0`, `"tenants":1`, 1)),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := backup.NewReader(bytes.NewReader(archive))
			if err == nil {
				err = drain(r)
			}
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func gunzip(t testing.TB, b []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// FuzzReader: any input is read to an error or to its end, never a panic,
// and what it yields fits the table it claims to be of. The seeds are a
// whole archive of a new store, gzipped and plain, and hand-made ones
// (testdata/fuzz/FuzzReader).
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, gz(string(data))} {
			r, err := backup.NewReader(bytes.NewReader(in))
			if err != nil {
				continue
			}
			for {
				tb, ok, err := r.NextTable()
				if err != nil || !ok {
					break
				}
				for {
					row, ok, err := r.NextRow()
					if err != nil || !ok {
						break
					}
					if len(row) != len(tb.Columns) {
						t.Fatalf("a row of %d values in %s", len(row), tb.Name)
					}
				}
			}
			r.Counters()
		}
	})
}
