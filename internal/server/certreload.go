package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// certReloader serves the operator's certificate (--tls-cert/--tls-key)
// and takes a renewed one without a restart: on SIGHUP, and when either
// file changes (polled, so that it works on every file system and with
// the rename-into-place that renewal tools do). A handshake reads the
// current pair through an atomic pointer; connections already open keep
// the certificate they were made with, so nothing is dropped. A pair that
// does not load, or whose key does not match, is refused and the one in
// use stays: a half-written renewal never takes the server down.
type certReloader struct {
	certPath, keyPath string
	log               *slog.Logger

	cur  atomic.Pointer[tls.Certificate]
	mu   sync.Mutex // serialises reloads and guards seen
	seen [2]fileStamp
}

// fileStamp is what a poll compares: a renewal changes at least one.
type fileStamp struct {
	size    int64
	modTime time.Time
	ino     uint64
}

func newCertReloader(certPath, keyPath string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certPath: certPath, keyPath: keyPath, log: log}
	if _, err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// reload loads the pair and, if it is sound, serves it from the next
// handshake on. It reports whether the certificate served changed.
func (r *certReloader) reload() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamps := [2]fileStamp{stamp(r.certPath), stamp(r.keyPath)}
	c, err := tls.LoadX509KeyPair(r.certPath, r.keyPath)
	if err != nil {
		// Remember what failed, so that a poll does not retry (and log)
		// the same broken files every tick; a further change is retried.
		r.seen = stamps
		return false, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			r.seen = stamps
			return false, fmt.Errorf("--tls-cert: %w", err)
		}
	}
	r.seen = stamps
	old := r.cur.Swap(&c)
	return old == nil || !old.Leaf.Equal(c.Leaf), nil
}

// changed reports whether either file differs from what was last loaded.
func (r *certReloader) changed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return [2]fileStamp{stamp(r.certPath), stamp(r.keyPath)} != r.seen
}

// watch reloads on SIGHUP and on a change seen every interval, until ctx
// ends.
func (r *certReloader) watch(ctx context.Context, interval time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reloadAndLog("SIGHUP")
		case <-tick.C:
			if r.changed() {
				r.reloadAndLog("file changed")
			}
		}
	}
}

func (r *certReloader) reloadAndLog(why string) {
	changed, err := r.reload()
	switch {
	case err != nil:
		r.log.Error("TLS certificate not reloaded; the one in use stays", "why", why, "err", err)
	case changed:
		leaf := r.cur.Load().Leaf
		r.log.Info("TLS certificate reloaded", "why", why, "subject", leaf.Subject.String(),
			"notAfter", leaf.NotAfter.UTC().Format(time.RFC3339))
	default:
		r.log.Info("TLS certificate unchanged", "why", why)
	}
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	s := fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}
