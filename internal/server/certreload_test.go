package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePair writes a self-signed certificate with serial and its key,
// each renamed into place as renewal tools do.
func writePair(t *testing.T, certPath, keyPath string, serial int64) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "renewed"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	replace(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replace(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func replace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestCertReloaderTakesARenewalAndKeepsTheOldPairOverABrokenOne(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writePair(t, certPath, keyPath, 1)
	r, err := newCertReloader(certPath, keyPath, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		c, _ := r.getCertificate(nil)
		return c.Leaf.SerialNumber.Int64()
	}
	if serial() != 1 || r.changed() {
		t.Fatalf("at start: serial %d, changed %v", serial(), r.changed())
	}

	writePair(t, certPath, keyPath, 2)
	if !r.changed() {
		t.Fatal("a renewed pair is not seen as a change")
	}
	if changed, err := r.reload(); err != nil || !changed || serial() != 2 {
		t.Fatalf("reload: changed %v, err %v, serial %d; want the renewed certificate", changed, err, serial())
	}
	if changed, err := r.reload(); err != nil || changed {
		t.Fatalf("reloading the same pair: changed %v, err %v", changed, err)
	}

	// A certificate whose key is the old one (a renewal half written): it
	// is refused, the pair in use stays, and the same broken files are
	// not retried at every poll.
	good, _ := os.ReadFile(keyPath)
	writePair(t, certPath, keyPath, 3)
	replace(t, keyPath, good)
	if _, err := r.reload(); err == nil {
		t.Fatal("a certificate with another certificate's key was taken")
	}
	if serial() != 2 {
		t.Fatalf("after a broken renewal the server serves serial %d, want 2 still", serial())
	}
	if r.changed() {
		t.Fatal("the broken pair would be retried at every poll")
	}
	replace(t, certPath, []byte("not PEM"))
	if _, err := r.reload(); err == nil || serial() != 2 {
		t.Fatalf("garbage taken: err %v, serial %d", err, serial())
	}

	// The renewal completed: taken.
	writePair(t, certPath, keyPath, 4)
	if changed, err := r.reload(); err != nil || !changed || serial() != 4 {
		t.Fatalf("completed renewal: changed %v, err %v, serial %d", changed, err, serial())
	}
}

func TestCertReloaderRefusesToStartOnABrokenPair(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if _, err := newCertReloader(certPath, keyPath, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("started without a certificate")
	}
}
