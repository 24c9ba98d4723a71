package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tessera-id/tessera/internal/loadtest"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
)

// TestCrashLosesNothing kills `tessera serve` with SIGKILL, twice, while the
// load tool runs the refresh and authorization-code scenarios against it,
// restarting it at once each time, and then checks what a client may rely
// on ("nothing acknowledged is lost"):
//   - every refresh chain's last answered token still rotates (the load
//     tool's --verify); the tokens before it were rotated by later answers
//     the client also received;
//   - no request was refused as invalid_grant: a rotation the server
//     committed but could not answer is retried after the restart, within
//     the grace window, and gets the successor recorded before the crash;
//   - no code or token was ever handed out twice;
//   - the database passes its integrity check (SQLite).
//
// On SQLite this is the durability of a commit before the answer
// (synchronous=FULL, WAL, the group commit); on PostgreSQL, of
// synchronous_commit.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server under load")
	}
	t.Run("SQLite", func(t *testing.T) {
		data := t.TempDir()
		crashUnderLoad(t, nil, []string{"--data", data})
		db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "tessera.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var result string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
			t.Fatalf("integrity check after the crashes: %q %v", result, err)
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := pgtest.Schema(t)
		crashUnderLoad(t, []string{"TESSERA_DB=" + dsn, "TESSERA_MASTER_KEY=" + sharedMasterKey}, []string{"--data", t.TempDir()})
	})
}

func crashUnderLoad(t *testing.T, env, args []string) {
	addr := freeAddr(t)
	base := "http://" + addr
	args = append(args, "--http", "--addr", addr, "--public-url", base)
	p := serve(t, env, args...)
	id, secret, ok := bootstrapCredentials(p)
	if !ok {
		t.Fatalf("no bootstrap credentials:\n%s", p.output())
	}
	c := &cluster{url: base, http: &http.Client{Timeout: 30 * time.Second}, bootClientID: id, bootSecret: secret}
	made, err := loadtest.Setup(context.Background(), loadtest.SetupConfig{BaseURL: base, Tenant: "default",
		Transport: http.DefaultTransport, AdminToken: c.adminToken(t), Tag: "crash"})
	if err != nil {
		t.Fatal(err)
	}

	// Every code and token any virtual user was answered with.
	var mu sync.Mutex
	seen := map[string]string{}
	issued := map[string]int{}
	var twice []string
	observe := func(kind, value string) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[value]; dup {
			twice = append(twice, kind)
		}
		seen[value] = kind
		issued[kind]++
	}
	tr, err := loadtest.NewTransport("", 8, base)
	if err != nil {
		t.Fatal(err)
	}
	target := loadtest.Target{BaseURL: base, Tenant: "default", Transport: tr, Timeout: 10 * time.Second,
		PublicClientID: made.PublicClientID, RedirectURI: made.RedirectURI, UserScope: made.UserScope,
		User: made.User, Password: made.Password, Observe: observe}

	// Two kills, at different points of the load.
	var restarts sync.WaitGroup
	restarts.Go(func() {
		// Kill only once the load is running (the virtual users sign in,
		// untimed, before the clock starts; a kill then aborts the run).
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			n := issued["refresh_token"]
			mu.Unlock()
			if n >= 6+20 {
				break
			}
		}
		for _, at := range []time.Duration{time.Second, 2500 * time.Millisecond} {
			time.Sleep(at)
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
			p.exited <- nil // for the cleanup
			p = serve(t, env, args...)
		}
	})
	results := make([]*loadtest.Result, 2)
	var runs sync.WaitGroup
	for i, sc := range []struct {
		name string
		conc int
	}{{"refresh", 6}, {"auth-code", 2}} {
		runs.Go(func() {
			s, err := loadtest.NewScenario(sc.name, target)
			if err != nil {
				t.Error(err)
				return
			}
			res, err := loadtest.Run(context.Background(), s, loadtest.Options{Concurrency: sc.conc, Duration: 7 * time.Second, Verify: true})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = res
		})
	}
	runs.Wait()
	restarts.Wait()
	if t.Failed() {
		return
	}
	refresh, code := results[0], results[1]
	t.Logf("refresh: %d requests, errors %v; auth-code: %d flows, errors %v", refresh.Requests, refresh.Errors, code.Requests, code.Errors)
	t.Logf("acknowledged: %d refresh tokens, %d access tokens, %d codes; verified after the restarts: %d chains, lost: %d",
		issued["refresh_token"], issued["access_token"], issued["code"], refresh.Verified.Checked, refresh.Verified.Lost)

	for _, r := range results {
		if n := r.Errors["invalid_grant"]; n != 0 {
			t.Errorf("%s: %d requests refused as invalid_grant across the crashes: a rotation or code a client was answered for was lost", r.Scenario, n)
		}
	}
	if v := refresh.Verified; v == nil || v.Checked != 6 || v.Lost != 0 {
		t.Errorf("refresh chains after the crashes: %+v, want all 6 checked and none lost", v)
	}
	if len(twice) > 0 {
		t.Errorf("handed out twice: %v", twice)
	}
	if refresh.Requests-refresh.ErrorCount() < 100 || code.Requests-code.ErrorCount() < 5 {
		t.Errorf("too little load got through to mean anything: %d rotations, %d flows", refresh.Requests-refresh.ErrorCount(), code.Requests-code.ErrorCount())
	}
	if err := p.stop(t); err != nil {
		t.Errorf("the restarted server on SIGTERM: %v", err)
	}
}
