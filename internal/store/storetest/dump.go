package storetest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"testing"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/backup"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// Dump and Load, through the real archive (internal/backup), between two
// stores: the same engine (Run) or two engines (Across). What one store
// held must read back the same from the other, through the contract's own
// reads, and dump again to the very same rows.

// Across runs the dump tests from a store of one engine into a store of
// another: a backup made on one restores on the other, which is also what
// `tessera migrate copy` does.
func Across(t *testing.T, from, to func(t *testing.T) store.Store) {
	t.Run("Dump/RoundTrip", func(t *testing.T) { testDumpRoundTrip(t, from, to) })
	t.Run("Dump/Refusals", func(t *testing.T) { testDumpRefusals(t, from, to) })
}

// dumpKeys is the master key the test archives are made under.
func dumpKeys(t *testing.T, b byte) *secrets.Keys {
	k, err := secrets.New(bytes.Repeat([]byte{b}, secrets.MasterKeySize))
	must(t, err)
	return k
}

// seedAll fills s with one of everything: the directory and session
// twins of the tenancy tests, signing keys, audit, bans, a consumed
// value, and a feed whose counter is ahead of its last entry (the entry
// that had the last number was purged).
func seedAll(t *testing.T, s store.Store) (twin, sessionTwin, int64) {
	t.Helper()
	ctx := t.Context()
	a := seedTwin(t, s, "a")
	b := seedSessionTwin(t, s, "b")
	_, err := s.InitSigningKeys(ctx, initialKeys("dump"))
	must(t, err)
	must(t, s.AppendAudit(ctx, []audit.Event{auditEvent("a", "e1", at(1), "admin.app.create"), auditEvent("b", "e2", at(2), "signin.failure")}))
	must(t, s.ConsumeOnce(ctx, "a", "jti-1", farAhead))
	recordFailure(t, s, "a", "192.0.2.7", banRule(1))
	// Last, so that the purged entry had the highest number of all.
	addTenant(t, s, "f")
	must(t, s.AppendRevocation(ctx, "f", session.Revocation{TenantID: "f", Kind: session.RevokeToken,
		Value: "jti-purged", RevokedAt: t0, ExpiresAt: at(2)}))
	gone := feed(t, s, "f")
	if len(gone) != 1 {
		t.Fatalf("feed of f: %v", gone)
	}
	_, err = s.Purge(ctx, session.PurgeBefore{Expired: at(3)}, 1000)
	must(t, err)
	if left := feed(t, s, "f"); len(left) != 0 {
		t.Fatalf("purge left %v", left)
	}
	return a, b, gone[0].Seq
}

// archiveRows is an archive's lines after its header: what two dumps of
// one state share byte for byte (the header names the engine and seals a
// fresh key check).
func archiveRows(t *testing.T, archive []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	must(t, err)
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	must(t, sc.Err())
	if len(lines) < 2 {
		t.Fatalf("archive of %d lines", len(lines))
	}
	return lines[1:]
}

func dumpOf(t *testing.T, s store.Store, keys *secrets.Keys) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := backup.Write(t.Context(), &buf, s, keys, backup.Info{Engine: "test"}); err != nil {
		t.Fatalf("backup: %v", err)
	}
	return buf.Bytes()
}

func restore(t *testing.T, archive []byte, dst store.Store, keys *secrets.Keys) (backup.Summary, error) {
	t.Helper()
	r, err := backup.NewReader(bytes.NewReader(archive))
	must(t, err)
	return backup.Restore(t.Context(), r, dst, keys)
}

func testDumpRoundTrip(t *testing.T, from, to func(t *testing.T) store.Store) {
	ctx := t.Context()
	src := from(t)
	a, b, purgedSeq := seedAll(t, src)
	keys := dumpKeys(t, 7)
	archive := dumpOf(t, src, keys)

	dst := to(t)
	sum, err := restore(t, archive, dst, keys)
	must(t, err)
	if sum.Rows["refresh_tokens"] != 3 || sum.Rows["signing_keys"] == 0 || sum.Rows["audit_events"] != 2 {
		t.Errorf("restored rows %v", sum.Rows)
	}

	// The contract's reads find the same things on both.
	wantEqual(t, takeSnapshot(t, dst, "a"), takeSnapshot(t, src, "a"))
	wantEqual(t, takeSessionSnapshot(t, dst, b), takeSessionSnapshot(t, src, b))
	for _, s := range []store.Store{src, dst} {
		got, err := s.GetServicePrincipal(ctx, "a", a.sp.ObjectID)
		must(t, err)
		wantEqual(t, got, a.sp)
	}
	srcKeys, err := src.ListSigningKeys(ctx)
	must(t, err)
	dstKeys, err := dst.ListSigningKeys(ctx)
	must(t, err)
	wantEqual(t, dstKeys, srcKeys)
	q := audit.Query{Limit: 10}
	srcAudit, err := src.ListAudit(ctx, "b", q)
	must(t, err)
	dstAudit, err := dst.ListAudit(ctx, "b", q)
	must(t, err)
	wantEqual(t, dstAudit, srcAudit)
	if err := dst.ConsumeOnce(ctx, "a", "jti-1", farAhead); !errors.Is(err, directory.ErrReplay) {
		t.Errorf("a value consumed before the backup, consumed again after the restore: %v", err)
	}

	// And dump again to the very same rows.
	if diff := firstDiff(archiveRows(t, dumpOf(t, dst, keys)), archiveRows(t, archive)); diff != "" {
		t.Errorf("the restored store dumps otherwise: %s", diff)
	}

	// The feed goes on after the highest number ever given, not the
	// highest left: a follower's cursor may be past the purged entry.
	if sum.Counters.FeedSeq < purgedSeq {
		t.Fatalf("feed counter %d, below the purged entry's %d", sum.Counters.FeedSeq, purgedSeq)
	}
	must(t, dst.AppendRevocation(ctx, "f", session.Revocation{TenantID: "f", Kind: session.RevokeToken,
		Value: "jti-after", RevokedAt: at(5), ExpiresAt: farAhead}))
	after := feed(t, dst, "f")
	if len(after) != 1 || after[0].Seq <= sum.Counters.FeedSeq {
		t.Errorf("first entry after the restore: %+v; want a number above %d", after, sum.Counters.FeedSeq)
	}

	// A live refresh token of the backup rotates on the restored store.
	next := newRefreshToken("b", "rt-1-next", "grant-1", at(10))
	if _, err := Rotate(ctx, dst, "b", b.rt.Hash, next, []byte("sealed"), at(10), grace, feedExpiry); err != nil {
		t.Errorf("rotating a restored refresh token: %v", err)
	}
}

// firstDiff describes the first line where got and want differ, or is
// empty if they are the same.
func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+2, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d lines, want %d", len(got), len(want))
	}
	return ""
}

// testDumpRefusals: a restore into a store that holds anything, under
// another master key, or of an archive cut short, fails and leaves the
// store as it was.
func testDumpRefusals(t *testing.T, from, to func(t *testing.T) store.Store) {
	src := from(t)
	seedAll(t, src)
	keys := dumpKeys(t, 7)
	archive := dumpOf(t, src, keys)
	empty := func(t *testing.T, s store.Store) {
		t.Helper()
		sum, err := backup.Write(t.Context(), &bytes.Buffer{}, s, keys, backup.Info{})
		must(t, err)
		for table, n := range sum.Rows {
			if n != 0 {
				t.Errorf("table %s has %d rows after a refused restore", table, n)
			}
		}
	}

	t.Run("NotEmpty", func(t *testing.T) {
		dst := to(t)
		addTenant(t, dst, "x")
		before := archiveRows(t, dumpOf(t, dst, keys))
		if _, err := restore(t, archive, dst, keys); !errors.Is(err, store.ErrNotEmpty) {
			t.Fatalf("restore into a store with a tenant: %v, want ErrNotEmpty", err)
		}
		if diff := firstDiff(archiveRows(t, dumpOf(t, dst, keys)), before); diff != "" {
			t.Errorf("a refused restore changed the store: %s", diff)
		}
	})
	t.Run("WrongMasterKey", func(t *testing.T) {
		dst := to(t)
		if _, err := restore(t, archive, dst, dumpKeys(t, 8)); !errors.Is(err, backup.ErrWrongMasterKey) {
			t.Fatalf("restore under another master key: %v, want ErrWrongMasterKey", err)
		}
		empty(t, dst)
	})
	t.Run("CutShort", func(t *testing.T) {
		// Re-compress all but the trailer: a well-formed gzip stream of an
		// archive that stops after its last row.
		lines := archiveRows(t, archive)
		var header bytes.Buffer
		zr, err := gzip.NewReader(bytes.NewReader(archive))
		must(t, err)
		br := bufio.NewReader(zr)
		h, err := br.ReadBytes('\n')
		must(t, err)
		header.Write(h)
		for _, cut := range []int{len(lines) - 1, len(lines) / 2} {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(header.Bytes())
			for _, l := range lines[:cut] {
				zw.Write([]byte(l + "\n"))
			}
			must(t, zw.Close())
			dst := to(t)
			if _, err := restore(t, buf.Bytes(), dst, keys); err == nil {
				t.Fatalf("restore of an archive cut at line %d of %d succeeded", cut, len(lines))
			}
			empty(t, dst)
		}
	})
}

// CheckTables compares the columns an engine's schema has (table → column
// names, the bookkeeping tables left out) with store.Tables.
func CheckTables(t *testing.T, schema map[string][]string) {
	t.Helper()
	for _, table := range store.Tables {
		have := schema[table.Name]
		if have == nil {
			t.Errorf("store.Tables lists %s, which the schema lacks", table.Name)
			continue
		}
		delete(schema, table.Name)
		described := map[string]bool{}
		for _, c := range table.Columns {
			described[c.Name] = true
		}
		for _, c := range have {
			if !described[c] {
				t.Errorf("column %s.%s is not in store.Tables: backups would leave it out", table.Name, c)
			}
			delete(described, c)
		}
		for c := range described {
			t.Errorf("store.Tables describes %s.%s, which the schema lacks", table.Name, c)
		}
	}
	for name := range schema {
		t.Errorf("table %s is not in store.Tables: backups would leave it out", name)
	}
}
