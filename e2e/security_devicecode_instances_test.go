package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestInstancesShareDevicePendingCap (review M3): two instances on one
// PostgreSQL database, device authorizations for the CLI sent to both at
// once: exactly --device-pending-max codes are handed out between them,
// since the cap is one conditional insert in the database, not a count in
// each instance's memory. (Loopback is exempt from the per-address limit,
// so the cap alone answers.)
func TestInstancesShareDevicePendingCap(t *testing.T) {
	const pendingMax = 25
	c := startClusterEnv(t, 2, "TESSERA_DEVICE_PENDING_MAX=25")
	nodes := []*http.Client{via(c.nodes[0].addr), via(c.nodes[1].addr)}
	form := url.Values{"client_id": {directory.CLIClientID}, "scope": {"openid"}}
	var mu sync.Mutex
	answers := map[int]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for range 15 {
				resp, err := nodes[w%2].Post(c.url+"/default/oauth2/v2.0/devicecode", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				answers[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if answers[http.StatusOK] != pendingMax || answers[http.StatusTooManyRequests] != 8*15-pendingMax {
		t.Errorf("120 device authorizations through two instances: answers %v, want exactly %d codes and the rest 429", answers, pendingMax)
	}
}
