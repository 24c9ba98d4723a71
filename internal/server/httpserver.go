package server

import (
	"log/slog"
	"net/http"
	"time"
)

// timeouts bound what one connection may hold: a client that sends its
// header slowly (slowloris), trickles its body, reads its response slowly
// or keeps a connection idle. Without them each such client holds a
// goroutine, a socket and its buffers for as long as it likes.
type timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	// Write is zero where a response may legitimately stream for long (a
	// CPU profile on the admin listener).
	Write          time.Duration
	Idle           time.Duration
	MaxHeaderBytes int
}

// publicTimeouts are the public listener's. Every request there is a
// small form or JSON body (64 KiB at most, see oauth.maxFormBytes) and a
// response of a few KiB: 30 s is far beyond what a real client needs and
// short enough that slow clients cannot pile up.
var publicTimeouts = timeouts{
	ReadHeader:     10 * time.Second,
	Read:           30 * time.Second,
	Write:          30 * time.Second,
	Idle:           120 * time.Second,
	MaxHeaderBytes: 64 << 10,
}

// adminTimeouts are the admin listener's: no write timeout, since
// /debug/pprof/profile and /debug/pprof/trace stream for as long as they
// were asked to run (?seconds=), but the same bounds on reading.
var adminTimeouts = timeouts{
	ReadHeader:     10 * time.Second,
	Read:           30 * time.Second,
	Idle:           120 * time.Second,
	MaxHeaderBytes: 64 << 10,
}

// newHTTPServer returns an http.Server with t's bounds; its errors (TLS
// handshakes, header timeouts) go to log at warning level.
func newHTTPServer(h http.Handler, log *slog.Logger, t timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    t.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
