package stored

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

func TestWrap(t *testing.T) {
	driver := errors.New("driver says no")
	for _, tc := range []struct {
		name       string
		fault      Fault
		dir, sess  error // the contract error each wrapper must carry
		keepDriver bool  // the driver's error stays in the chain
		inMessage  bool  // the driver's message stays in the text
	}{
		{"no rows", FaultNoRows, directory.ErrNotFound, session.ErrNotFound, false, false},
		{"unique", FaultUnique, directory.ErrConflict, directory.ErrConflict, false, true},
		{"foreign key", FaultForeignKey, directory.ErrNotFound, session.ErrNotFound, false, true},
		{"other", FaultOther, nil, nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range []struct {
				name string
				f    func(string, string, error, Fault) error
				want error
			}{{"Wrap", Wrap, tc.dir}, {"WrapSession", WrapSession, tc.sess}} {
				err := w.f("eng", "do it", driver, tc.fault)
				if !strings.HasPrefix(err.Error(), "eng: do it: ") {
					t.Errorf("%s: %q lacks the engine and op", w.name, err)
				}
				if w.want != nil && !errors.Is(err, w.want) {
					t.Errorf("%s: %v is not %v", w.name, err, w.want)
				}
				if errors.Is(err, driver) != tc.keepDriver {
					t.Errorf("%s: errors.Is(driver) = %v", w.name, !tc.keepDriver)
				}
				if strings.Contains(err.Error(), driver.Error()) != tc.inMessage {
					t.Errorf("%s: %q: driver message kept = %v, want %v", w.name, err, !tc.inMessage, tc.inMessage)
				}
			}
		})
	}
	if Wrap("eng", "op", nil, FaultOther) != nil || WrapSession("eng", "op", nil, FaultNoRows) != nil {
		t.Error("a nil error must stay nil")
	}
}

func TestMergeScopes(t *testing.T) {
	for _, tc := range []struct {
		have, add, want []string
	}{
		{nil, nil, []string{}},
		{nil, []string{"b", "a", "b"}, []string{"b", "a"}},
		{[]string{"a", "b"}, []string{"c", "a"}, []string{"a", "b", "c"}},
		// RFC 6749 §3.3: scope values are case-sensitive.
		{[]string{"read"}, []string{"READ"}, []string{"read", "READ"}},
	} {
		if got := MergeScopes(tc.have, tc.add); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("MergeScopes(%q, %q) = %q, want %q", tc.have, tc.add, got, tc.want)
		}
	}
}

func TestConsumed(t *testing.T) {
	if err := Consumed(1); err != nil {
		t.Errorf("Consumed(1) = %v", err)
	}
	if err := Consumed(0); !errors.Is(err, directory.ErrReplay) {
		t.Errorf("Consumed(0) = %v, want ErrReplay", err)
	}
}

func TestGrantsOfEntry(t *testing.T) {
	for _, tc := range []struct {
		user, client, kind, value string
		err                       bool
	}{
		{"u", "c", "", "", false},
		{"u", "", session.RevokeSubject, "u", false},
		{"", "c", session.RevokeClient, "c", false},
		{"", "", "", "", true},
	} {
		kind, value, err := GrantsOfEntry(tc.user, tc.client)
		if kind != tc.kind || value != tc.value || (err != nil) != tc.err {
			t.Errorf("GrantsOfEntry(%q, %q) = %q, %q, %v", tc.user, tc.client, kind, value, err)
		}
	}
}

func TestInitKeys(t *testing.T) {
	keys := []token.KeyRecord{{ID: "a"}, {ID: "b"}}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		exists    bool
		existsErr error
		insertErr error
		wrote     bool
		inserted  []string
		err       error
	}{
		{"empty store", false, nil, nil, true, []string{"a", "b"}, nil},
		{"keys exist", true, nil, nil, false, nil, nil},
		{"check fails", false, boom, nil, false, nil, boom},
		{"insert fails", false, nil, boom, false, []string{"a"}, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inserted []string
			wrote, err := InitKeys(keys, func() (bool, error) { return tc.exists, tc.existsErr },
				func(k token.KeyRecord) error { inserted = append(inserted, k.ID); return tc.insertErr })
			if wrote != tc.wrote || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) ||
				!reflect.DeepEqual(inserted, tc.inserted) {
				t.Errorf("InitKeys = %v, %v, inserted %q", wrote, err, inserted)
			}
		})
	}
}

func TestRotateKeys(t *testing.T) {
	for _, tc := range []struct {
		name               string
		retired, activated int64
		ran                string // the statements run, in order
		err                error
		fails              bool
	}{
		{"rotates", 1, 1, "RAIP", nil, false},
		{"lost the race", 0, 1, "R", token.ErrKeysChanged, true},
		{"no next key", 1, 0, "RA", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran strings.Builder
			err := RotateKeys(KeyRotation{
				Retire:   func() (int64, error) { ran.WriteString("R"); return tc.retired, nil },
				Activate: func() (int64, error) { ran.WriteString("A"); return tc.activated, nil },
				Insert:   func(token.KeyRecord) error { ran.WriteString("I"); return nil },
				Prune:    func() error { ran.WriteString("P"); return nil },
			}, token.KeyRecord{ID: "n"})
			if ran.String() != tc.ran || (err != nil) != tc.fails || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Errorf("RotateKeys ran %q, err %v", ran.String(), err)
			}
		})
	}
}

type fakeRows struct {
	rows [][]any
	i    int
	err  error
}

func (f *fakeRows) Next() bool { f.i++; return f.i <= len(f.rows) }
func (f *fakeRows) Err() error { return f.err }
func (f *fakeRows) Scan(dest ...any) error {
	for i, d := range dest {
		*d.(*string) = f.rows[f.i-1][i].(string)
	}
	return nil
}

func TestScanAll(t *testing.T) {
	scan := func(r Row) (s string, err error) { return s, r.Scan(&s) }
	got, err := ScanAll(&fakeRows{}, scan)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("ScanAll(no rows) = %#v, %v; want an empty, non-nil list", got, err)
	}
	got, err = ScanAll(&fakeRows{rows: [][]any{{"a"}, {"b"}}}, scan)
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("ScanAll = %q, %v", got, err)
	}
	boom := errors.New("boom")
	if got, err = ScanAll(&fakeRows{rows: [][]any{{"a"}}, err: boom}, scan); !errors.Is(err, boom) || got != nil {
		t.Errorf("ScanAll with a cursor error = %q, %v", got, err)
	}
}
