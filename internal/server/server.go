// Package server is tessera's HTTP house: it opens the store and the key
// ring, bootstraps an empty directory, listens with TLS (a local CA by
// default), routes to the protocol and admin handlers, and shuts down
// gracefully.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/instancediscovery"
	"github.com/tessera-id/tessera/internal/management"
	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/internal/oauth"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/cache"
	"github.com/tessera-id/tessera/internal/token"
	"github.com/tessera-id/tessera/internal/web"
)

// Server is a running tessera.
type Server struct {
	// URL is the public base URL, the base of every issuer.
	URL string
	// CAFile is the local CA's certificate, when the server uses it.
	CAFile string
	// Bootstrap holds the one-time credentials of a first start, else nil.
	Bootstrap *Bootstrap
	// HomeTenant is the tenant created on first start.
	HomeTenant directory.Tenant

	Directory *directory.Service
	Sessions  *session.Service
	Keys      *token.Ring
	Secrets   *secrets.Keys
	Audit     *audit.Recorder

	cfg   config.Config
	log   *slog.Logger
	store store.Store
	cache *cache.Store
	http  *http.Server
	ln    net.Listener
	// certs serves --tls-cert/--tls-key and reloads them; nil otherwise.
	certs *certReloader

	// admin serves /metrics and pprof on adminLn (see admin.go).
	admin   *http.Server
	adminLn net.Listener
}

// Open prepares a server from cfg: data folder, master key, store, key ring,
// bootstrap, listener and TLS. Run starts serving.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *Server, err error) {
	if log == nil {
		log = slog.Default()
	}
	// Bind first: a port in use is the commonest first-start mistake, and
	// finding it after the data folder, master key and database exist
	// leaves a folder behind for a server that never ran.
	ln, err := listen(cfg.Addr, "--addr")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	var adminLn net.Listener
	if cfg.AdminAddr != "" {
		if adminLn, err = listen(cfg.AdminAddr, "--admin-addr"); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				adminLn.Close()
			}
		}()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	master, created, err := secrets.LoadOrCreateMasterKey(cfg.MasterKey, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a master key in the data folder; back it up, or set TESSERA_MASTER_KEY", "file", secrets.MasterKeyFile)
	}
	keys, err := secrets.New(master)
	if err != nil {
		return nil, err
	}
	db, err := OpenStore(ctx, cfg, true, log)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	// The directory's hot reads (client credentials) come from memory;
	// writes here invalidate at once, writes by another process within a
	// second (see package cache).
	st, err := cache.New(ctx, db, cache.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st, cache: st}
	s.Secrets = keys
	s.Audit = audit.NewRecorder(st, audit.Options{Logger: log, OnDrop: metrics.AuditDropped})
	defer func() {
		if err != nil {
			s.Audit.Close(context.Background())
		}
	}()
	s.Sessions = session.NewService(st, keys, keys, session.Options{Audit: s.Audit, DevicePendingMax: cfg.DevicePendingMax})
	s.Directory = directory.NewService(st, keys, directory.Options{Audit: s.Audit, PasswordHashSlots: passwordHashSlots(log, directory.DefaultPasswordParams),
		AddressBans: directory.AddressBanPolicy{Failures: cfg.BanAddressFailures, Window: cfg.BanAddressWindow, Duration: cfg.BanAddressDuration},
		// Disabling a user or removing a client's credential revokes
		// what they hold.
		Revoker: s.Sessions})
	s.Keys, err = token.NewRing(ctx, st, keys, token.RingOptions{Alg: cfg.SigningAlg, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}

	s.ln, s.adminLn = ln, adminLn
	scheme := "https"
	if cfg.HTTP {
		scheme = "http"
	}
	s.URL = strings.TrimSuffix(cfg.PublicURL, "/")
	if s.URL == "" {
		s.URL = scheme + "://" + s.ln.Addr().String()
	}
	if !cfg.HTTP {
		tlsCfg, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		s.ln = tls.NewListener(s.ln, tlsCfg)
	}

	s.Bootstrap, s.HomeTenant, err = bootstrap(ctx, s.Directory, log, cfg.HomeTenant, cfg.Domain)
	if err != nil {
		return nil, err
	}
	if s.Bootstrap != nil {
		if s.Bootstrap.File, err = s.Bootstrap.writeFile(cfg.DataDir, s.URL); err != nil {
			return nil, err
		}
	} else {
		warnLeftBootstrapFile(cfg.DataDir, log)
	}
	s.http = newHTTPServer(s.routes(), log, publicTimeouts)
	s.openAdmin()
	// Last, when every file it looks at exists.
	checkDataFolder(cfg, log)
	return s, nil
}

// listen binds addr, the value of flag, and says plainly when another
// process holds it.
func listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s is already in use (by another tessera?); pick another with %s", addr, flag)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return ln, nil
}

// tlsConfig uses --tls-cert/--tls-key when given, else the local CA's
// certificate for localhost, the loopback addresses and the public host.
func (s *Server) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSCert != "" {
		r, err := newCertReloader(s.cfg.TLSCert, s.cfg.TLSKey, s.log)
		if err != nil {
			return nil, err
		}
		s.certs = r
		cfg.GetCertificate = r.getCertificate
		return cfg, nil
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if u, err := url.Parse(s.URL); err == nil && !contains(hosts, u.Hostname()) {
		hosts = append(hosts, u.Hostname())
	}
	if h, _, err := net.SplitHostPort(s.cfg.Addr); err == nil && h != "" && !contains(hosts, h) && !net.ParseIP(h).IsUnspecified() {
		hosts = append(hosts, h)
	}
	c, caPath, created, err := localCA(s.cfg.DataDir, hosts, time.Now())
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Info("created a local CA in the data folder", "file", caPath)
	}
	// Absolute, so that the printed export lines work from any folder.
	if abs, err := filepath.Abs(caPath); err == nil {
		caPath = abs
	}
	s.CAFile = caPath
	cfg.Certificates = []tls.Certificate{c}
	return cfg, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	limits := s.abuseLimits()
	protocol := oauth.New(oauth.Config{Directory: s.Directory, Sessions: s.Sessions, Keys: s.Keys, PublicURL: s.URL, HomeTenant: s.HomeTenant.ID, Limits: limits, Logger: s.log, Audit: s.Audit})
	protocol.Register(mux)
	web.New(web.Config{Directory: s.Directory, Sessions: s.Sessions, Keys: s.Keys, Secrets: s.Secrets, PublicURL: s.URL, HomeTenant: s.HomeTenant.ID,
		InsecureCookies: s.cfg.HTTP && strings.HasPrefix(s.URL, "http://"), Limits: limits, Logger: s.log}).Register(mux)
	mux.Handle("/admin/v1/", adminapi.New(adminapi.Config{
		Directory: s.Directory,
		Keys:      s.Keys,
		Auth:      &adminAuth{tokens: protocol, dir: s.Directory, homeTenant: s.HomeTenant.ID},
		Logger:    s.log,
		Audit:     s.Audit,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	instancediscovery.New(instancediscovery.Config{Directory: s.Directory, PublicURL: s.URL, Logger: s.log}).Register(mux)
	// The management endpoint owns everything under its prefix (its own
	// 404s in ARM's shape); a prefix pattern there would overlap the
	// /{tenant}/… patterns in mux, so it sits in front of it.
	root := http.NewServeMux()
	root.Handle(management.Prefix, management.New(management.Config{Directory: s.Directory, Keys: s.Keys,
		PublicURL: s.URL, HomeTenant: s.HomeTenant.ID, Logger: s.log}))
	root.Handle("/", mux)
	return withCommon(withHSTS(withMetrics(root), sendHSTS(s.cfg, s.URL)), s.log)
}

// readyz says whether this instance can serve tokens now: the store
// answers and the key ring has an active key.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.store.Ping(ctx); err != nil {
		s.log.Error("readyz: store", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"unavailable","checks":{"store":"failing"}}`+"\n")
		return
	}
	io.WriteString(w, `{"status":"ok","checks":{"store":"ok","signingKey":"`+s.Keys.ActiveKeyID()+`"}}`+"\n")
}

// Run serves until ctx is cancelled, then lets in-flight requests finish
// within the shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	defer s.store.Close()
	// Before the store closes: the audit events still queued are written.
	defer s.closeAudit()
	go s.Keys.Watch(ctx, s.cfg.KeyReload)
	go s.serveAdmin(ctx)
	go s.cache.Watch(ctx)
	go s.housekeeping(ctx, time.Minute)
	if s.certs != nil {
		go s.certs.watch(ctx, s.cfg.TLSReload)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	s.log.Info("serving", "url", s.URL, "addr", s.ln.Addr().String(), "key_reload", s.cfg.KeyReload)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Store is the storage the server runs on, behind its cache: the one way
// below the domain's rules, for tests that plant rows from an older
// database. Nothing in the server hands it to a handler.
func (s *Server) Store() store.Store { return s.store }

// PollDirectory makes the server see now the directory changes another
// process made on its database (`tessera admin --data` while it runs),
// which it otherwise sees within a second: for tests that write that way
// and go on at once (e2e's lifecycle test; nothing else calls it).
func (s *Server) PollDirectory(ctx context.Context) error { return s.cache.Poll(ctx) }

// SessionsAt returns a session service over the server's store whose clock
// is now, for tests that act as of another time (housekeeping once every
// device code has expired); the clock is an Option of the service, not a
// setter.
func (s *Server) SessionsAt(now func() time.Time) *session.Service {
	return session.NewService(s.store, s.Secrets, s.Secrets, session.Options{Now: now, Audit: s.Audit, DevicePendingMax: s.cfg.DevicePendingMax})
}

// housekeeping drops, every interval, the sealed refresh responses kept for
// the grace window once the longest window allowed has passed, so that no
// usable token stays recoverable from the database.
func (s *Server) housekeeping(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Sessions.Housekeeping(ctx, directory.MaxRefreshGrace)
			if err != nil && ctx.Err() == nil {
				s.log.Error("housekeeping", "err", err)
			} else if n > 0 {
				s.log.Debug("purged expired session state", "rows", n)
			}
			s.purgeAudit(ctx)
		}
	}
}
