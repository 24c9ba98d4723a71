package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	c := Default()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	RegisterFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	err := Load(fs, &c, func(k string) string { return env[k] })
	return c, err
}

func TestPrecedenceFlagOverEnvOverFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tessera.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:1111\nsigning-alg: ES256\nkey-reload: 30s\nhttp: true\npublic-url: https://id.example\n"), 0o600)
	c, err := load(t, []string{"--config", file, "--addr", "127.0.0.1:3333"}, map[string]string{
		"TESSERA_ADDR": "127.0.0.1:2222", "TESSERA_LOG_LEVEL": "debug", "TESSERA_MASTER_KEY": "k",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:3333" {
		t.Errorf("addr %q: a flag beats env and file", c.Addr)
	}
	if c.LogLevel != "debug" || c.SigningAlg != "ES256" || c.KeyReload != 30*time.Second || !c.HTTP || c.MasterKey != "k" {
		t.Errorf("env and file values not applied: %+v", c)
	}
	c, _ = load(t, nil, map[string]string{"TESSERA_ADDR": "127.0.0.1:2222", "TESSERA_CONFIG": file})
	if c.Addr != "127.0.0.1:2222" {
		t.Errorf("addr %q: env beats the file", c.Addr)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := load(t, []string{"--addr", "nope", "--signing-alg", "HS256", "--tls-cert", "c.pem", "--public-url", "ftp://x/y", "--log-format", "xml"}, nil)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"--addr", "--signing-alg", "--tls-cert and --tls-key", "--public-url", "--log-format"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestUnknownFileKeyAndBadEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tessera.yaml")
	os.WriteFile(file, []byte("adr: typo\n"), 0o600)
	_, err := load(t, []string{"--config", file}, map[string]string{"TESSERA_HTTP": "maybe"})
	if err == nil || !strings.Contains(err.Error(), `unknown key "adr"`) || !strings.Contains(err.Error(), "TESSERA_HTTP") {
		t.Errorf("got %v", err)
	}
}

func TestDatabasePath(t *testing.T) {
	c := Default()
	if got := c.DatabasePath(); got != filepath.Join("tessera-data", "tessera.db") {
		t.Errorf("default %q", got)
	}
	c.DB = "sqlite:///var/lib/tessera/t.db"
	if got := c.DatabasePath(); got != "/var/lib/tessera/t.db" {
		t.Errorf("sqlite URL %q", got)
	}
}

// Migrations at start are on unless turned off, by flag, environment or
// file alike.
func TestMigrateSetting(t *testing.T) {
	if c, err := load(t, nil, nil); err != nil || !c.Migrate {
		t.Fatalf("default: migrate %v (%v), want on", c.Migrate, err)
	}
	for name, c := range map[string]func() (Config, error){
		"flag": func() (Config, error) { return load(t, []string{"--migrate=false"}, nil) },
		"env":  func() (Config, error) { return load(t, nil, map[string]string{"TESSERA_MIGRATE": "false"}) },
	} {
		got, err := c()
		if err != nil || got.Migrate {
			t.Errorf("%s: migrate %v (%v), want off", name, got.Migrate, err)
		}
	}
}

// TestDomainSettings: --home-tenant and --domain follow the directory's
// domain rule, checked with the rest of the configuration.
func TestDomainSettings(t *testing.T) {
	c, err := load(t, []string{"--domain", "contoso.example"}, nil)
	if err != nil || c.Domain != "contoso.example" || c.HomeTenant != "default" {
		t.Fatalf("%+v, %v", c, err)
	}
	if c, err := load(t, nil, map[string]string{"TESSERA_DOMAIN": "fabrikam.example"}); err != nil || c.Domain != "fabrikam.example" {
		t.Errorf("TESSERA_DOMAIN: %+v, %v", c, err)
	}
	_, err = load(t, []string{"--domain", "common", "--home-tenant", "not a domain"}, nil)
	for _, want := range []string{"--domain: domain \"common\" is reserved", "--home-tenant: domain \"not a domain\" must be DNS labels"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
}
