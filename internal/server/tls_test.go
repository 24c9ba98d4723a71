package server

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLocalCAIssuesAndReusesServerCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	c1, caPath, created, err := localCA(dir, hosts, now)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	caPEM, _ := os.ReadFile(caPath)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem is not a PEM certificate")
	}
	for _, h := range hosts {
		if _, err := c1.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h}); err != nil {
			t.Errorf("server certificate does not verify for %s: %v", h, err)
		}
	}
	for _, f := range []string{caKeyFile, serverKeyPEM} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	c2, _, created, err := localCA(dir, hosts, now)
	if err != nil || created || string(c2.Certificate[0]) != string(c1.Certificate[0]) {
		t.Errorf("second start: created=%v err=%v, same certificate=%v", created, err, string(c2.Certificate[0]) == string(c1.Certificate[0]))
	}

	// A new public host, or a certificate near its end, gets a new one from
	// the same CA.
	c3, _, _, err := localCA(dir, append(hosts, "id.internal"), now)
	if err != nil || c3.Leaf.VerifyHostname("id.internal") != nil {
		t.Errorf("new host not covered: %v", err)
	}
	c4, _, _, err := localCA(dir, hosts, now.AddDate(1, 0, 0))
	if err != nil || !c4.Leaf.NotAfter.After(now.AddDate(1, 0, 0)) {
		t.Errorf("expiring certificate not renewed: %v", err)
	}
	if _, err := c4.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost", CurrentTime: now.AddDate(1, 0, 1)}); err != nil {
		t.Errorf("renewed certificate is not from the same CA: %v", err)
	}
}
