package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCA issues server certificates for 127.0.0.1, as a renewing CA would.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "renewing CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a leaf with serial to certPath and keyPath, each renamed
// into place.
func (ca *testCA) issue(t *testing.T, certPath, keyPath string, serial int64) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "tessera"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	for path, b := range map[string][]byte{
		keyPath:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		certPath: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	} {
		if err := os.WriteFile(path+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeReloadsItsCertificateWithoutDroppingConnections: a renewed
// --tls-cert/--tls-key pair is served to new connections after SIGHUP, and
// after a change alone (polled, --tls-reload), while a connection opened
// before keeps working on the certificate it was made with.
func TestServeReloadsItsCertificateWithoutDroppingConnections(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	certPath, keyPath := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	ca.issue(t, certPath, keyPath, 100)
	addr := freeAddr(t)
	p := serve(t, nil, "--data", filepath.Join(dir, "data"), "--addr", addr,
		"--tls-cert", certPath, "--tls-key", keyPath, "--tls-reload", "1s")
	url := "https://" + addr + "/healthz"

	// get answers the serial of the certificate the connection was made
	// with, and whether c reused a connection.
	get := func(c *http.Client) (serial int64, reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/healthz: %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), reused
	}
	client := func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.pool}, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
	}
	// waitFor asks over new connections until the server presents serial.
	waitFor := func(serial int64, how string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			c := client()
			got, _ := get(c)
			c.CloseIdleConnections()
			if got == serial {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: new connections still get serial %d, want %d\n%s", how, got, serial, p.stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	kept := client()
	if serial, _ := get(kept); serial != 100 {
		t.Fatalf("first certificate: serial %d", serial)
	}

	ca.issue(t, certPath, keyPath, 101)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(101, "after SIGHUP")
	if serial, reused := get(kept); !reused || serial != 100 {
		t.Fatalf("the connection opened before the renewal: reused %v, serial %d; want it kept, on serial 100", reused, serial)
	}

	// No signal: the poll sees the files change.
	ca.issue(t, certPath, keyPath, 102)
	waitFor(102, "after a change alone")

	// A broken renewal is refused and the server goes on serving.
	if err := os.WriteFile(certPath, []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.stderr.String(), "TLS certificate not reloaded"); {
		if time.Now().After(deadline) {
			t.Fatalf("the broken renewal was not reported:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(102, "after a broken renewal")
	if serial, reused := get(kept); !reused || serial != 100 {
		t.Fatalf("the first connection after three reloads: reused %v, serial %d", reused, serial)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.stderr.String())
	}
}
