package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/internal/token"
)

// The admin listener serves what only operators should see: /metrics and,
// with --pprof, /debug/pprof/. It is a listener of its own (--admin-addr,
// off by default), never the public one: profiles reveal memory, and
// metrics name tenants and clients.

// openAdmin exports the signing key's age and, when --admin-addr is set,
// prepares its server on s.adminLn (bound by Open before anything else).
func (s *Server) openAdmin() {
	metrics.SigningKeyAge(func() (time.Time, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		keys, err := s.Keys.ListKeys(ctx)
		if err != nil {
			return time.Time{}, false
		}
		for _, k := range keys {
			if k.State == token.KeyActive && !k.ActivatedAt.IsZero() {
				return k.ActivatedAt, true
			}
		}
		return time.Time{}, false
	})
	if s.adminLn == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	if s.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.admin = newHTTPServer(nosniff(mux), s.log, adminTimeouts)
}

// AdminAddr is the address of the admin listener, or "" when it is off.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// serveAdmin serves the admin listener, if any, until ctx ends.
func (s *Server) serveAdmin(ctx context.Context) {
	if s.admin == nil {
		return
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.admin.Shutdown(sctx)
	}()
	if err := s.admin.Serve(s.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("admin listener", "err", err)
	}
}

// withMetrics records every request's route pattern (r.Pattern, set by
// the mux that served it, so /{tenant}/oauth2/v2.0/token is one series
// however many tenants), method, status and latency.
func withMetrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			metrics.Request(r.Pattern, r.Method, status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}
