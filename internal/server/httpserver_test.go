package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestServersCloseStalledHeaders: a client that sends half a request
// header and stalls (slowloris) is disconnected after ReadHeaderTimeout,
// on every listener tessera runs; a stalled body after ReadTimeout; and
// a header beyond MaxHeaderBytes is refused with 431 (RFC 6585 §5).
func TestServersCloseStalledHeaders(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	short := func(t timeouts) timeouts {
		t.ReadHeader, t.Read, t.Idle = 200*time.Millisecond, 400*time.Millisecond, time.Second
		return t
	}
	for _, tc := range []struct {
		rule     string
		name     string
		timeouts timeouts
		send     string
	}{
		{"slowloris: ReadHeaderTimeout", "public, half a header", short(publicTimeouts), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "},
		{"slowloris: ReadHeaderTimeout", "admin, half a header", short(adminTimeouts), "GET /metrics HTTP/1.1\r\nHost: x\r\n"},
		{"slow body: ReadTimeout", "public, half a body", short(publicTimeouts),
			"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.timeouts.ReadHeader == 0 || tc.timeouts.Read == 0 || tc.timeouts.Idle == 0 || tc.timeouts.MaxHeaderBytes == 0 {
				t.Fatalf("%s: a bound is missing: %+v", tc.rule, tc.timeouts)
			}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
			addr := serve(t, newHTTPServer(h, log, tc.timeouts))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			// Generous: the rule is that the server closes at all, not
			// how fast.
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("%s: the server kept the stalled connection open", tc.rule)
			}
		})
	}

	t.Run("header too large", func(t *testing.T) {
		addr := serve(t, newHTTPServer(http.NotFoundHandler(), log, publicTimeouts))
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		go io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 2*publicTimeouts.MaxHeaderBytes)+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("RFC 6585 §5: status %d, want 431", resp.StatusCode)
		}
	})
}

func serve(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
