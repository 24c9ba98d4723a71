// Package config is the server's configuration: one struct, loaded from
// flags, TESSERA_* environment variables and an optional YAML file, in that
// order of precedence, and validated as a whole.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/ratelimit"
	"github.com/tessera-id/tessera/internal/session"
)

// Config is everything `tessera serve` can be told. Each field's flag name
// is its `flag` tag; its environment variable is TESSERA_ plus the flag
// name in upper case with - as _; its key in the config file is the flag
// name.
type Config struct {
	Addr    string `flag:"addr" usage:"address to listen on"`
	DataDir string `flag:"data" usage:"data folder: SQLite database, master key, local CA"`
	DB      string `flag:"db" usage:"database: a SQLite file path (default {data}/tessera.db), or a postgres:// URL shared by several instances"`
	TLSCert string `flag:"tls-cert" usage:"TLS certificate (PEM) instead of the local CA's"`
	TLSKey  string `flag:"tls-key" usage:"TLS private key (PEM) for --tls-cert"`
	// TLSReload is how often --tls-cert and --tls-key are checked for a
	// renewal (SIGHUP reloads them at once).
	TLSReload  time.Duration `flag:"tls-reload" usage:"how often to check --tls-cert/--tls-key for a renewed pair (SIGHUP reloads at once)"`
	HTTP       bool          `flag:"http" usage:"serve plain HTTP, for use behind a TLS-terminating proxy (then set --public-url)"`
	PublicURL  string        `flag:"public-url" usage:"base URL clients use, the base of every issuer (default https://{addr})"`
	SigningAlg string        `flag:"signing-alg" usage:"algorithm of new signing keys: RS256 or ES256"`
	HomeTenant string        `flag:"home-tenant" usage:"domain of the tenant created on first start"`
	// Domain is a further domain of the home tenant, for its users' names
	// (alice@contoso.example) while URLs keep naming it by HomeTenant.
	Domain string `flag:"domain" usage:"a further domain of the home tenant for its user names (alice@contoso.example), added at start unless another tenant holds it (default none: users are name@{home-tenant})"`
	// KeyReload is how often the key ring is re-read from the store, so a
	// rotation made by the admin CLI or another instance is picked up.
	KeyReload       time.Duration `flag:"key-reload" usage:"how often to re-read signing keys from the store"`
	ShutdownTimeout time.Duration `flag:"shutdown-timeout" usage:"how long to let requests finish on SIGTERM"`
	LogLevel        string        `flag:"log-level" usage:"debug, info, warn or error"`
	LogFormat       string        `flag:"log-format" usage:"text or json"`
	// AdminAddr is a listener apart from the public one, for operators:
	// metrics and profiles must not be reachable where tokens are.
	AdminAddr string `flag:"admin-addr" usage:"address of the admin listener serving /metrics, e.g. 127.0.0.1:9090 (default off)"`
	Pprof     bool   `flag:"pprof" usage:"also serve net/http/pprof at /debug/pprof/ on the admin listener"`

	// Migrate off is for deployments that run `tessera migrate up` as a
	// step of their own before rolling out a new version: a server then
	// never changes the schema, and refuses one it cannot run on.
	Migrate bool `flag:"migrate" usage:"apply pending schema migrations at start; with --migrate=false a server refuses a database whose schema is not exactly its own (run 'tessera migrate up' first)"`

	// AuditRetention is how long audit events are kept, for every
	// tenant: a server setting, since the operator answers for the
	// storage and for what the law asks to keep.
	AuditRetention time.Duration `flag:"audit-retention" usage:"how long to keep audit events (sign-ins, token issuance, admin changes); housekeeping deletes older ones"`
	// MasterKey is read from the environment only (TESSERA_MASTER_KEY):
	// a key on a command line ends up in ps and shell history.
	MasterKey string `flag:"-"`

	// Abuse limits (README, Abuse limits): token buckets per address or
	// client id, in each instance's memory. 0 switches a limit off.
	RateSignIn           float64 `flag:"rate-signin" usage:"requests/s per client address where passwords and user codes are tried: sign-in page, product login, device code entry (0: off)"`
	RateSignInBurst      int     `flag:"rate-signin-burst" usage:"burst of --rate-signin"`
	RateTokenClient      float64 `flag:"rate-token-client" usage:"requests/s per client id at the token and device authorization endpoints (0: off)"`
	RateTokenClientBurst int     `flag:"rate-token-client-burst" usage:"burst of --rate-token-client"`
	RateTokenAddress     float64 `flag:"rate-token-address" usage:"requests/s per client address at the token and device authorization endpoints (0: off)"`
	RateTokenAddrBurst   int     `flag:"rate-token-address-burst" usage:"burst of --rate-token-address"`
	RateDeviceAddress    float64 `flag:"rate-device-address" usage:"device authorizations/s per client address (each is a row until it expires; 0: off)"`
	RateDeviceAddrBurst  int     `flag:"rate-device-address-burst" usage:"burst of --rate-device-address"`
	RateExempt           string  `flag:"rate-exempt" usage:"comma-separated addresses or CIDR prefixes not limited per address"`
	// DevicePendingMax bounds the rows device authorizations can add,
	// whatever the number of addresses (session.DefaultDevicePendingMax).
	DevicePendingMax int `flag:"device-pending-max" usage:"device authorizations one client may have pending in a tenant at once; more get 429 until some expire"`
	// Address bans (README, Abuse limits): failed sign-ins counted per
	// client address and tenant in the database, so that a ban holds on
	// every instance. Exempt addresses (--rate-exempt) are never counted.
	BanAddressFailures int           `flag:"ban-address-failures" usage:"failed sign-ins (wrong password or unknown user) from one client address in a tenant, within --ban-address-window, that ban the address from signing in to the tenant (0: off)"`
	BanAddressWindow   time.Duration `flag:"ban-address-window" usage:"how long failures from an address add up, from the first"`
	BanAddressDuration time.Duration `flag:"ban-address-duration" usage:"how long an address stays banned; tessera admin bans remove lifts it sooner"`
	// HSTS: see server.sendHSTS; tessera sends it whenever it serves TLS.
	HSTS bool `flag:"hsts" usage:"also send Strict-Transport-Security under --http, when --public-url is https"`
	// TrustedProxies are the load balancers whose X-Forwarded-For names
	// the client; from anyone else it is ignored, since clients forge it.
	TrustedProxies string `flag:"trusted-proxies" usage:"comma-separated addresses or CIDR prefixes of proxies whose X-Forwarded-For is believed"`
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8443",
		DataDir:         "./tessera-data",
		SigningAlg:      "RS256",
		HomeTenant:      "default",
		Migrate:         true,
		KeyReload:       10 * time.Second,
		TLSReload:       time.Minute,
		ShutdownTimeout: 15 * time.Second,
		AuditRetention:  90 * 24 * time.Hour,
		LogLevel:        "info",
		LogFormat:       "text",

		// Generous enough that no person and none of the load tool's
		// scenarios meets them: the limits are for floods, the lockout
		// (per account, in the database) is for guessing.
		RateSignIn:           5,
		RateSignInBurst:      50,
		RateTokenClient:      20000,
		RateTokenClientBurst: 20000,
		RateTokenAddrBurst:   1000,
		RateExempt:           "127.0.0.0/8,::1",

		// A person starts a device sign-in a few times a day, not
		// thousands: 10 at once, then one every 100 s (36 an hour) per
		// address, so that a flood from one address holds at most about
		// 20 of a client's pending codes (they live 15 minutes) and
		// filling the cap takes hundreds of addresses (RFC 8628 §5.2).
		RateDeviceAddress:   0.01,
		RateDeviceAddrBurst: 10,
		DevicePendingMax:    session.DefaultDevicePendingMax,

		// 50 failures in 15 minutes is more than an office's worth of
		// typos behind one NAT, and far fewer than a spray needs.
		BanAddressFailures: 50,
		BanAddressWindow:   15 * time.Minute,
		BanAddressDuration: time.Hour,
	}
}

// RegisterFlags adds a flag for every field, with defaults from c.
func RegisterFlags(fs *pflag.FlagSet, c *Config) {
	fs.String("config", "", "YAML config file (keys are flag names); env TESSERA_CONFIG")
	forEachField(c, func(name, usage string, v reflect.Value) {
		usage = fmt.Sprintf("%s (env %s)", usage, EnvName(name))
		switch p := v.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, usage)
		case *bool:
			fs.BoolVar(p, name, *p, usage)
		case *time.Duration:
			fs.DurationVar(p, name, *p, usage)
		case *int:
			fs.IntVar(p, name, *p, usage)
		case *float64:
			fs.Float64Var(p, name, *p, usage)
		}
	})
}

// EnvName is the environment variable of a flag.
func EnvName(flag string) string {
	return "TESSERA_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Load fills c (already holding defaults and parsed flags) from the config
// file and the environment, for every field whose flag was not set, then
// validates it. getenv is os.Getenv outside tests.
func Load(fs *pflag.FlagSet, c *Config, getenv func(string) string) error {
	file := getenv("TESSERA_CONFIG")
	if f := fs.Lookup("config"); f != nil && f.Changed {
		file = f.Value.String()
	}
	var fromFile map[string]any
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := yaml.Unmarshal(raw, &fromFile); err != nil {
			return fmt.Errorf("config file %s: %w", file, err)
		}
	}
	var problems []error
	known := map[string]bool{}
	forEachField(c, func(name, _ string, v reflect.Value) {
		known[name] = true
		if f := fs.Lookup(name); f != nil && f.Changed {
			return
		}
		if env := getenv(EnvName(name)); env != "" {
			if err := setString(v, env); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", EnvName(name), err))
			}
			return
		}
		if val, ok := fromFile[name]; ok {
			if err := setString(v, fmt.Sprint(val)); err != nil {
				problems = append(problems, fmt.Errorf("%s: %s: %w", file, name, err))
			}
		}
	})
	for k := range fromFile {
		if !known[k] {
			problems = append(problems, fmt.Errorf("%s: unknown key %q", file, k))
		}
	}
	c.MasterKey = getenv("TESSERA_MASTER_KEY")
	if err := c.Validate(); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

// Validate reports every problem at once, not the first.
func (c *Config) Validate() error {
	var problems []error
	bad := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("--addr %q: want host:port", c.Addr)
	}
	if c.DataDir == "" {
		bad("--data must name a folder")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("--tls-cert and --tls-key go together")
	}
	if c.HTTP && c.TLSCert != "" {
		bad("--http and --tls-cert exclude each other")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("--public-url %q: want an absolute http(s) URL", c.PublicURL)
		case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
			bad("--public-url %q: want scheme and host only, no path", c.PublicURL)
		}
	}
	if err := directory.CheckDomain(c.HomeTenant); err != nil {
		bad("--home-tenant: %s", strings.TrimPrefix(err.Error(), directory.ErrInvalid.Error()+": "))
	}
	if c.Domain != "" {
		if err := directory.CheckDomain(c.Domain); err != nil {
			bad("--domain: %s", strings.TrimPrefix(err.Error(), directory.ErrInvalid.Error()+": "))
		}
	}
	if c.SigningAlg != "RS256" && c.SigningAlg != "ES256" {
		bad("--signing-alg %q: want RS256 or ES256", c.SigningAlg)
	}
	if c.TLSReload < time.Second {
		bad("--tls-reload %v: want at least 1s", c.TLSReload)
	}
	if c.KeyReload < time.Second {
		bad("--key-reload %v: want at least 1s", c.KeyReload)
	}
	if c.AuditRetention < time.Hour {
		bad("--audit-retention %v: want at least 1h", c.AuditRetention)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			bad("--admin-addr %q: want host:port", c.AdminAddr)
		} else if c.AdminAddr == c.Addr {
			bad("--admin-addr %q: want another address than --addr", c.AdminAddr)
		}
	}
	if c.Pprof && c.AdminAddr == "" {
		bad("--pprof needs --admin-addr: profiles are never served on the public listener")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("--log-format %q: want text or json", c.LogFormat)
	}
	for _, r := range []struct {
		flag  string
		rate  float64
		burst int
	}{{"rate-signin", c.RateSignIn, c.RateSignInBurst}, {"rate-token-client", c.RateTokenClient, c.RateTokenClientBurst},
		{"rate-token-address", c.RateTokenAddress, c.RateTokenAddrBurst}, {"rate-device-address", c.RateDeviceAddress, c.RateDeviceAddrBurst}} {
		if r.rate < 0 {
			bad("--%s %v: want 0 (off) or a positive rate", r.flag, r.rate)
		} else if r.rate > 0 && r.burst < 1 {
			bad("--%s-burst %d: want at least 1", r.flag, r.burst)
		}
	}
	if c.DevicePendingMax < 1 {
		bad("--device-pending-max %d: want at least 1 (it bounds what device authorizations, which anyone may start, write to the database)", c.DevicePendingMax)
	}
	if c.BanAddressFailures < 0 {
		bad("--ban-address-failures %d: want 0 (off) or a positive number", c.BanAddressFailures)
	}
	if c.BanAddressFailures > 0 {
		if c.BanAddressWindow < time.Second {
			bad("--ban-address-window %v: want at least 1s", c.BanAddressWindow)
		}
		if c.BanAddressDuration < time.Second {
			bad("--ban-address-duration %v: want at least 1s", c.BanAddressDuration)
		}
	}
	if _, err := ratelimit.ParsePrefixes(c.RateExempt); err != nil {
		bad("--rate-exempt: %v", err)
	}
	if c.HSTS && !(c.HTTP && strings.HasPrefix(c.PublicURL, "https://")) {
		bad("--hsts is for --http behind a TLS proxy, with an https --public-url (over TLS tessera sends HSTS itself)")
	}
	if _, err := ratelimit.ParsePrefixes(c.TrustedProxies); err != nil {
		bad("--trusted-proxies: %v", err)
	}
	return errors.Join(problems...)
}

// Postgres reports whether --db names a PostgreSQL database (a postgres://
// or postgresql:// URL) rather than a SQLite file.
func (c *Config) Postgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}

// DatabasePath is the SQLite file the server uses (when not Postgres).
func (c *Config) DatabasePath() string {
	if c.DB != "" {
		return strings.TrimPrefix(strings.TrimPrefix(c.DB, "sqlite://"), "sqlite:")
	}
	return filepath.Join(c.DataDir, "tessera.db")
}

func forEachField(c *Config, fn func(name, usage string, v reflect.Value)) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("flag")
		if name == "" || name == "-" {
			continue
		}
		fn(name, t.Field(i).Tag.Get("usage"), v.Field(i))
	}
}

func setString(v reflect.Value, s string) error {
	switch p := v.Addr().Interface().(type) {
	case *string:
		*p = s
	case *bool:
		switch strings.ToLower(s) {
		case "1", "true", "yes", "on":
			*p = true
		case "0", "false", "no", "off":
			*p = false
		default:
			return fmt.Errorf("%q is not a boolean", s)
		}
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*p = d
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*p = f
	}
	return nil
}
