package account

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "tessera"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func profileFor(authority, tenantID, clientID string) Profile {
	return Profile{Type: ServicePrincipal, Authority: authority, Tenant: tenantID, TenantID: tenantID, ClientID: clientID, ClientSecret: testSecret}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestDefaultDirHonoursEnv(t *testing.T) {
	t.Setenv("TESSERA_CONFIG_DIR", "/somewhere/else")
	if d, err := DefaultDir(); err != nil || d != "/somewhere/else" {
		t.Fatalf("DefaultDir() = %q, %v", d, err)
	}
}

// The profile holds a client secret and the cache holds tokens: only the
// owner may read them.
func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	s := openTemp(t)
	if m := mode(t, s.Dir()); m != 0o700 {
		t.Errorf("config dir mode = %o, want 700", m)
	}
	p := profileFor("https://127.0.0.1:8443", testTenantID, testClientID)
	if err := s.SaveProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(p, Target{Scope: "a/.default"}, Token{AccessToken: "x", ExpiresOn: fixedNow.Add(time.Hour)}, fixedNow); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{profilesFile, tokensFile} {
		if m := mode(t, s.path(name)); m != 0o600 {
			t.Errorf("%s mode = %o, want 600", name, m)
		}
	}
	// Another tool loosened the file: the next read puts it back.
	if err := os.Chmod(s.path(profilesFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Profiles(); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, s.path(profilesFile)); m != 0o600 {
		t.Errorf("after read, %s mode = %o, want 600", profilesFile, m)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(s.Dir())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestCurrentWhenNotLoggedIn(t *testing.T) {
	s := openTemp(t)
	if _, err := s.Current(); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("Current() on an empty dir: %v, want ErrNotLoggedIn", err)
	}
}

func TestSaveProfileReplacesAndMakesDefault(t *testing.T) {
	s := openTemp(t)
	a := profileFor("https://127.0.0.1:8443/", testTenantID, "client-a")
	b := profileFor("https://127.0.0.1:8443", testTenantID, "client-b")
	for _, p := range []Profile{a, b, a} {
		if err := s.SaveProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	ps, _ := s.Profiles()
	if len(ps) != 2 {
		t.Fatalf("profiles = %d, want 2 (a replaced, not duplicated)", len(ps))
	}
	cur, err := s.Current()
	if err != nil || cur.ClientID != "client-a" || cur.Authority != "https://127.0.0.1:8443" {
		t.Fatalf("Current() = %+v, %v; want client-a, authority without the trailing slash", cur, err)
	}
	defaults := 0
	for _, p := range ps {
		if p.IsDefault {
			defaults++
		}
	}
	if defaults != 1 {
		t.Errorf("%d default profiles, want 1", defaults)
	}
}

func TestSaveProfileValidates(t *testing.T) {
	s := openTemp(t)
	p := profileFor("http://id.example.com", "", "c")
	p.CertificateFile = "/x.pem" // and a secret: two credentials
	err := s.SaveProfile(p)
	if err == nil {
		t.Fatal("want an error")
	}
	// Every problem at once.
	for _, want := range []string{"https", "tenant id", "exactly one"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// Logout removes the profile and every token its credentials got, in any
// tenant, and leaves other profiles' tokens alone.
func TestRemoveProfileClearsItsTokens(t *testing.T) {
	s := openTemp(t)
	a := profileFor("https://127.0.0.1:8443", testTenantID, "client-a")
	b := profileFor("https://127.0.0.1:8443", testTenantID, "client-b")
	aElsewhere := a
	aElsewhere.TenantID = "11111111-2222-3333-4444-555555555555"
	tok := Token{AccessToken: "t", TokenType: "Bearer", ExpiresOn: fixedNow.Add(time.Hour)}
	for _, p := range []Profile{a, b} {
		if err := s.SaveProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []Profile{a, aElsewhere, b} {
		if err := s.PutToken(p, Target{Scope: "api://x/.default"}, tok, fixedNow); err != nil {
			t.Fatal(err)
		}
	}
	found, err := s.RemoveProfile(b) // b was the default
	if err != nil || !found {
		t.Fatalf("RemoveProfile = %v, %v", found, err)
	}
	if cur, err := s.Current(); err != nil || cur.ClientID != "client-a" {
		t.Fatalf("after removing the default, Current() = %+v, %v; want client-a", cur, err)
	}
	if _, ok, _ := s.CachedToken(b, Target{Scope: "api://x/.default"}, fixedNow); ok {
		t.Error("b's token survived its logout")
	}
	if _, ok, _ := s.CachedToken(a, Target{Scope: "api://x/.default"}, fixedNow); !ok {
		t.Error("a's token was removed by b's logout")
	}
	if _, err := s.RemoveProfile(a); err != nil {
		t.Fatal(err)
	}
	toks, _ := s.loadTokens()
	if len(toks) != 0 {
		t.Errorf("tokens left after logging out of everything: %v", toks)
	}
	if _, err := s.Current(); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("Current() = %v, want ErrNotLoggedIn", err)
	}
	if found, err := s.RemoveProfile(a); found || err != nil {
		t.Errorf("removing twice = %v, %v; want not found", found, err)
	}
}

func TestPutTokenPrunesExpired(t *testing.T) {
	s := openTemp(t)
	p := profileFor("https://127.0.0.1:8443", testTenantID, testClientID)
	old := Token{AccessToken: "old", ExpiresOn: fixedNow.Add(time.Minute)}
	if err := s.PutToken(p, Target{Scope: "old"}, old, fixedNow); err != nil {
		t.Fatal(err)
	}
	later := fixedNow.Add(2 * time.Minute)
	if err := s.PutToken(p, Target{Scope: "new"}, Token{AccessToken: "new", ExpiresOn: later.Add(time.Hour)}, later); err != nil {
		t.Fatal(err)
	}
	toks, _ := s.loadTokens()
	if len(toks) != 1 {
		t.Errorf("cache holds %d tokens, want the expired one pruned", len(toks))
	}
}

// A cache that does not parse is a cache miss, not a failure: it is
// rebuilt by the next write.
func TestCorruptCacheIsRebuilt(t *testing.T) {
	s := openTemp(t)
	if err := os.WriteFile(s.path(tokensFile), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := profileFor("https://127.0.0.1:8443", testTenantID, testClientID)
	if _, ok, err := s.CachedToken(p, Target{Scope: "s"}, fixedNow); ok || err != nil {
		t.Fatalf("CachedToken on a corrupt cache = %v, %v", ok, err)
	}
	if err := s.PutToken(p, Target{Scope: "s"}, Token{AccessToken: "x", ExpiresOn: fixedNow.Add(time.Hour)}, fixedNow); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.CachedToken(p, Target{Scope: "s"}, fixedNow); !ok {
		t.Fatal("cache not rebuilt")
	}
	// Profiles are not a cache: a corrupt file is reported.
	if err := os.WriteFile(s.path(profilesFile), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Current(); err == nil || !strings.Contains(err.Error(), "fix or delete") {
		t.Fatalf("Current() on a corrupt profiles file: %v", err)
	}
}

// Two CLI processes writing the cache at once must neither corrupt it nor
// lose each other's tokens. Each writer opens the directory on its own,
// so the flock is taken through different open files, as by two processes.
func TestConcurrentCacheWriters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tessera")
	const writers, perWriter = 2, 25
	p := profileFor("https://127.0.0.1:8443", testTenantID, testClientID)
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			s, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			for i := range perWriter {
				tok := Token{AccessToken: fmt.Sprintf("w%d-%d", w, i), ExpiresOn: fixedNow.Add(time.Hour)}
				if err := s.PutToken(p, Target{Scope: tok.AccessToken}, tok, fixedNow); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, tokensFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc tokensDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("cache corrupted: %v", err)
	}
	if len(doc.Tokens) != writers*perWriter {
		t.Errorf("cache holds %d tokens, want %d: an update was lost", len(doc.Tokens), writers*perWriter)
	}
}

func TestSecretNeverFormats(t *testing.T) {
	p := profileFor("https://127.0.0.1:8443", testTenantID, testClientID)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, p); strings.Contains(out, testSecret) {
			t.Errorf("%s of a profile shows the secret: %s", verb, out)
		}
	}
	raw, _ := json.Marshal(p)
	if !strings.Contains(string(raw), testSecret) {
		t.Error("the stored form must keep the secret")
	}
}

func TestCheckAuthority(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"https://127.0.0.1:8443", true},
		{"https://id.example.com/", true},
		{"http://127.0.0.1:8080", true}, // loopback: nothing crosses a network
		{"http://localhost:8080", true},
		{"http://id.example.com", false},
		{"ftp://id.example.com", false},
		{"127.0.0.1:8443", false},
		{"https://id.example.com/?x=1", false},
	} {
		if err := CheckAuthority(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckAuthority(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestLoadCertificateErrors(t *testing.T) {
	_, _, good := newClientCert(t)
	raw, _ := os.ReadFile(good)
	keyOnly, certOnly, _ := strings.Cut(string(raw), "-----BEGIN CERTIFICATE-----")
	certOnly = "-----BEGIN CERTIFICATE-----" + certOnly
	_, _, other := newClientCert(t)
	otherRaw, _ := os.ReadFile(other)
	otherKey, _, _ := strings.Cut(string(otherRaw), "-----BEGIN CERTIFICATE-----")

	for _, tc := range []struct {
		name, content, want string
	}{
		{"no key", certOnly, "no private key"},
		{"no certificate", keyOnly, "no CERTIFICATE"},
		{"mismatched key", otherKey + certOnly, "does not belong"},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
	} {
		_, err := LoadCertificate(secretFile(t, tc.content))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadCertificate(good); err != nil {
		t.Errorf("good file: %v", err)
	}
}

// loadTokens reads the token cache's entries (for tests).
func (s *Store) loadTokens() (map[string]cacheEntry, error) {
	doc, err := s.loadTokensDoc()
	if err != nil {
		return nil, err
	}
	return doc.Tokens, nil
}
