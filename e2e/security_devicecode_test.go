package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// floodResult is what a flood of device authorization requests got.
type floodResult struct {
	ok, throttled int
	// other holds any other answer, by status and error.
	other map[string]int
	// capped counts the 429s that named the cap on pending codes rather
	// than the per-address limit.
	capped int
}

// deviceFlood sends perAddress device authorization requests for the
// CLI's client id (public, in every tenant: anyone may name it) from each
// of addrs, through a "proxy" on loopback that names the address in
// X-Forwarded-For, on workers connections at once. Every refusal must be
// 429 temporarily_unavailable with a Retry-After (RFC 6585 §4).
func deviceFlood(t *testing.T, h *harness, addrs []string, perAddress, workers int) floodResult {
	t.Helper()
	type job struct{ addr string }
	jobs := make(chan job)
	var mu sync.Mutex
	res := floodResult{other: map[string]int{}}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				status, body, hdr := deviceAuthorize(t, h, j.addr)
				mu.Lock()
				switch {
				case status == http.StatusOK && strings.HasPrefix(fmt.Sprint(body["device_code"]), session.DeviceCodePrefix):
					res.ok++
				case status == http.StatusTooManyRequests && body["error"] == "temporarily_unavailable":
					res.throttled++
					if n, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || n < 1 {
						res.other["429 without Retry-After"]++
					}
					if strings.Contains(fmt.Sprint(body["error_description"]), "waiting") {
						res.capped++
					}
				default:
					res.other[fmt.Sprintf("%d %v", status, body["error"])]++
				}
				mu.Unlock()
			}
		})
	}
	for range perAddress {
		for _, a := range addrs {
			jobs <- job{a}
		}
	}
	close(jobs)
	wg.Wait()
	if len(res.other) > 0 {
		t.Errorf("answers other than a device code or 429 temporarily_unavailable with Retry-After: %v", res.other)
	}
	return res
}

// deviceAuthorize asks for a device code for the CLI (RFC 8628 §3.1) as a
// client at addr behind the trusted proxy.
func deviceAuthorize(t *testing.T, h *harness, addr string) (int, map[string]any, http.Header) {
	form := url.Values{"client_id": {directory.CLIClientID}, "scope": {"openid"}}
	req, _ := http.NewRequest("POST", h.srv.URL+"/"+h.tenant()+"/oauth2/v2.0/devicecode", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := h.http.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	json.Unmarshal(raw, &body)
	return resp.StatusCode, body, resp.Header
}

// deviceRows counts the device codes in the server's SQLite database and
// its size in bytes (pages in use, the WAL's included), read beside the
// running server as an operator's sqlite3 would.
func deviceRows(t *testing.T, h *harness) (rows, size int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.dataDir, "tessera.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages, pageSize int64
	if err := db.QueryRow(`SELECT count(*) FROM device_codes`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	return rows, pages * pageSize
}

// afterExpiry runs the server's housekeeping as it will run once every
// device code made so far has expired, and a minute more.
func afterExpiry(t *testing.T, h *harness) {
	t.Helper()
	later := h.srv.SessionsAt(func() time.Time { return time.Now().Add(2*session.DeviceCodeLifetime + time.Minute) })
	if _, err := later.Housekeeping(context.Background(), directory.MaxRefreshGrace); err != nil {
		t.Fatal(err)
	}
}

func addresses(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s.%d", prefix, i+1))
	}
	return out
}

// TestDeviceAuthorizationFloodIsBounded (review M3): unauthenticated
// device authorization requests naming the CLI's client id wrote one row
// each, without bound (1,020 rows/s measured), and housekeeping left
// expired codes a day. Now, with the limits at their defaults, a flood
// from several addresses adds rows bounded by the per-address limit (RFC
// 8628 §5.2), never by the flood; however many addresses join in, the
// pending codes of one client in a tenant stop at the cap, exactly, under
// concurrency; and once the codes expire, housekeeping removes them all.
func TestDeviceAuthorizationFloodIsBounded(t *testing.T) {
	t.Run("the per-address limit bounds a flood, at the defaults", func(t *testing.T) {
		def := config.Default()
		h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) { c.TrustedProxies = "127.0.0.1,::1" })
		rows0, size0 := deviceRows(t, h)
		addrs := addresses("198.51.100", 6)
		start := time.Now()
		res := deviceFlood(t, h, addrs, 500, 8) // 3,000 requests
		elapsed := time.Since(start)
		rows1, size1 := deviceRows(t, h)
		// Each address may spend its burst and earn at the rate while the
		// flood lasts; nothing more.
		perAddress := int64(def.RateDeviceAddrBurst) + int64(def.RateDeviceAddress*elapsed.Seconds()) + 1
		bound := int64(len(addrs)) * perAddress
		t.Logf("flood of %d requests from %d addresses: %d codes, %d refused; device_codes %d → %d rows, database %d → %d bytes",
			len(addrs)*500, len(addrs), res.ok, res.throttled, rows0, rows1, size0, size1)
		if rows1-rows0 != int64(res.ok) {
			t.Errorf("%d codes handed out but %d rows added", res.ok, rows1-rows0)
		}
		if rows1-rows0 > bound {
			t.Errorf("RFC 8628 §5.2: %d rows added by a flood from %d addresses, want at most %d (burst %d and %v/s each)",
				rows1-rows0, len(addrs), bound, def.RateDeviceAddrBurst, def.RateDeviceAddress)
		}
		// A row, its indexes and the pages they share: well under 4 KiB
		// each, so a bounded count is a bounded size.
		if size1-size0 > bound*4096 {
			t.Errorf("the database grew by %d bytes for at most %d codes", size1-size0, bound)
		}
		// The flood locked no one else out: a person at another address
		// still gets a code.
		if status, body, _ := deviceAuthorize(t, h, "203.0.113.50"); status != http.StatusOK {
			t.Errorf("a person after the flood: %d %v, want a device code", status, body["error"])
		}
		afterExpiry(t, h)
		if rows, _ := deviceRows(t, h); rows != 0 {
			t.Errorf("%d device codes left after they expired and housekeeping ran, want none", rows)
		}
	})

	t.Run("the cap on pending codes holds whatever the number of addresses", func(t *testing.T) {
		const pendingMax = 40
		h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) {
			c.TrustedProxies, c.DevicePendingMax = "127.0.0.1,::1", pendingMax
		})
		addrs := addresses("198.51.100", 30) // 30 addresses × a burst of 10: 300 codes without the cap
		res := deviceFlood(t, h, addrs, 20, 8)
		rows, _ := deviceRows(t, h)
		t.Logf("flood of %d requests from %d addresses with --device-pending-max %d: %d codes, %d refused (%d by the cap); %d rows",
			len(addrs)*20, len(addrs), pendingMax, res.ok, res.throttled, res.capped, rows)
		if res.ok != pendingMax || rows != pendingMax {
			t.Errorf("%d codes handed out and %d rows, want exactly the cap, %d", res.ok, rows, pendingMax)
		}
		if res.capped == 0 {
			t.Error("no refusal named the cap on pending codes")
		}
		// While the cap is full a newcomer is told when to come back: no
		// later than the oldest code's expiry.
		status, body, hdr := deviceAuthorize(t, h, "203.0.113.50")
		wait, _ := strconv.Atoi(hdr.Get("Retry-After"))
		if status != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" || wait < 1 || wait > int(session.DeviceCodeLifetime.Seconds()) {
			t.Errorf("a newcomer while the cap is full: %d %v, Retry-After %q; want 429 temporarily_unavailable within the codes' lifetime",
				status, body["error"], hdr.Get("Retry-After"))
		}
		// Once they expire the cap is free again, and the rows are gone.
		afterExpiry(t, h)
		if rows, _ := deviceRows(t, h); rows != 0 {
			t.Errorf("%d device codes left after they expired and housekeeping ran, want none", rows)
		}
		if status, body, _ := deviceAuthorize(t, h, "203.0.113.51"); status != http.StatusOK {
			t.Errorf("a newcomer after the flood's codes expired: %d %v, want a device code", status, body["error"])
		}
	})
}
