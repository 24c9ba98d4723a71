package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The image is built once for the tests (the first build of the static
// binary is the slow part; the second of the reproducibility test comes
// from Go's build cache).
var (
	builtOnce sync.Once
	builtDir  string
	builtRes  *result
	builtErr  error
)

func testPlatform() string { return "linux/" + runtime.GOARCH }

func imageForTests(t *testing.T) (string, *result) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary is built for and run on linux")
	}
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tessera-oci")
		if err != nil {
			builtErr = err
			return
		}
		builtDir = filepath.Join(dir, "oci")
		builtRes, builtErr = build(options{Out: builtDir, Tar: filepath.Join(dir, "tessera.tar"), Tag: "tessera:test",
			Platforms: []string{testPlatform()}, CACerts: caBundle(t)})
	})
	if builtErr != nil {
		t.Fatalf("build: %v", builtErr)
	}
	return builtDir, builtRes
}

// caBundle is the build host's CA bundle (Debian's ca-certificates),
// which every Debian-based CI and developer machine here has.
func caBundle(t *testing.T) string {
	const path = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v (Debian: apt-get install ca-certificates)", path, err)
	}
	return path
}

// openLayout reads the image back from the layout on disk, as skopeo or
// podman would: index.json → the tag's index → the platform's image.
func openLayout(t *testing.T, dir string) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "test" {
		t.Fatalf("index.json: %+v, want one index named test", im.Manifests)
	}
	idx, err := top.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS+"/"+d.Platform.Architecture == testPlatform() {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no %s image in the index: %+v", testPlatform(), m.Manifests)
	return nil
}

// entry is a file of the image's filesystem.
type entry struct {
	hdr  *tar.Header
	body []byte
}

func filesystem(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	fs := map[string]entry{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			fs[strings.TrimSuffix(h.Name, "/")] = entry{h, b}
		}
		rc.Close()
	}
	return fs
}

// TestImageConfig: the image runs tessera serve as the non-root user,
// with its data on a volume, listening on every interface of the
// container, with a health check that needs no shell, and the labels a
// registry shows.
func TestImageConfig(t *testing.T) {
	dir, _ := imageForTests(t)
	cf, err := openLayout(t, dir).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if c.User != "65532:65532" {
		t.Errorf("User %q, want 65532:65532 (never root)", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/tessera"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("Entrypoint %q Cmd %q", c.Entrypoint, c.Cmd)
	}
	for _, want := range []string{"TESSERA_DATA=/var/lib/tessera", "TESSERA_ADDR=0.0.0.0:8443", "TESSERA_PUBLIC_URL=https://localhost:8443"} {
		if !slices.Contains(c.Env, want) {
			t.Errorf("Env %q lacks %q", c.Env, want)
		}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e, "TESSERA_MASTER_KEY=") {
			t.Errorf("the image carries a master key: %q", e)
		}
	}
	if _, ok := c.Volumes["/var/lib/tessera"]; !ok || len(c.Volumes) != 1 {
		t.Errorf("Volumes %v, want /var/lib/tessera", c.Volumes)
	}
	if _, ok := c.ExposedPorts["8443/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("ExposedPorts %v, want 8443/tcp", c.ExposedPorts)
	}
	if c.Healthcheck == nil || !slices.Equal(c.Healthcheck.Test, []string{"CMD", "/usr/local/bin/tessera", "health"}) || c.Healthcheck.Interval <= 0 || c.Healthcheck.Retries < 1 {
		t.Errorf("Healthcheck %+v, want CMD tessera health (exec form: there is no shell)", c.Healthcheck)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/tessera-id/tessera",
		"org.opencontainers.image.licenses": "Apache-2.0",
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}
	for _, k := range []string{"org.opencontainers.image.version", "org.opencontainers.image.revision"} {
		if c.Labels[k] == "" {
			t.Errorf("label %s is empty", k)
		}
	}
}

// TestImageFilesystem: exactly the static binary, the CA bundle, a passwd
// and group naming the user, the license, and the data folder owned by
// the user and closed to others: no shell, no package manager, nothing
// else.
func TestImageFilesystem(t *testing.T) {
	dir, _ := imageForTests(t)
	fs := filesystem(t, openLayout(t, dir))
	var names []string
	for n := range fs {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt",
		"usr", "usr/local", "usr/local/bin", "usr/local/bin/tessera", "usr/local/share", "usr/local/share/doc",
		"usr/local/share/doc/tessera", "usr/local/share/doc/tessera/LICENSE", "var", "var/lib", "var/lib/tessera"}
	if !slices.Equal(names, want) {
		t.Errorf("files:\n%q\nwant:\n%q", names, want)
	}

	bin := fs["usr/local/bin/tessera"]
	if bin.hdr == nil || bin.hdr.Typeflag != tar.TypeReg || bin.hdr.Mode&0o111 == 0 || bin.hdr.Uid != 0 || bin.hdr.Mode&0o022 != 0 {
		t.Fatalf("the binary: %+v, want an executable owned by root that its user cannot change", bin.hdr)
	}
	f, err := elf.NewFile(bytes.NewReader(bin.body))
	if err != nil {
		t.Fatalf("the binary is not ELF: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked (PT_INTERP): there is no libc in the image")
		}
	}

	certs := 0
	for rest := fs["etc/ssl/certs/ca-certificates.crt"].body; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err == nil {
			certs++
		}
	}
	if certs < 50 {
		t.Errorf("the CA bundle holds %d certificates, want the system's (over 50)", certs)
	}
	if !strings.Contains(string(fs["etc/passwd"].body), "\ntessera:x:65532:65532:") || !strings.Contains(string(fs["etc/group"].body), "\ntessera:x:65532:") {
		t.Errorf("passwd/group do not name tessera 65532:\n%s%s", fs["etc/passwd"].body, fs["etc/group"].body)
	}
	data := fs["var/lib/tessera"].hdr
	if data == nil || data.Typeflag != tar.TypeDir || data.Uid != 65532 || data.Gid != 65532 || data.Mode&0o777 != 0o700 {
		t.Errorf("the data folder: %+v, want a directory 65532:65532 0700", data)
	}
	for n, e := range fs {
		if n != "var/lib/tessera" && e.hdr.Uid != 0 {
			t.Errorf("%s is owned by %d: only the data folder belongs to the user", n, e.hdr.Uid)
		}
	}
}

// TestImageIsReproducible: a second build of the same source has the same
// digest, and no timestamp in it is the time of the build.
func TestImageIsReproducible(t *testing.T) {
	_, first := imageForTests(t)
	second, err := build(options{Out: t.TempDir(), Tag: "tessera:test", Platforms: []string{testPlatform()}, CACerts: caBundle(t)})
	if err != nil {
		t.Fatal(err)
	}
	if first.IndexDigest != second.IndexDigest || first.Images[0].Digest != second.Images[0].Digest {
		t.Errorf("two builds differ: index %s and %s, image %s and %s", first.IndexDigest, second.IndexDigest, first.Images[0].Digest, second.Images[0].Digest)
	}
	// Another SOURCE_DATE_EPOCH changes every timestamp, and so the digest.
	t.Setenv("SOURCE_DATE_EPOCH", "86400")
	third, err := build(options{Out: t.TempDir(), Tag: "tessera:test", Platforms: []string{testPlatform()}, CACerts: caBundle(t)})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := third.Images[0].Image.ConfigFile()
	if third.IndexDigest == first.IndexDigest || !cf.Created.Time.Equal(time.Unix(86400, 0)) {
		t.Errorf("SOURCE_DATE_EPOCH=86400: digest %s (first %s), created %v", third.IndexDigest, first.IndexDigest, cf.Created)
	}
	for n, e := range filesystem(t, third.Images[0].Image) {
		if !e.hdr.ModTime.Equal(time.Unix(86400, 0)) {
			t.Errorf("%s: mtime %v, want SOURCE_DATE_EPOCH", n, e.hdr.ModTime)
		}
	}
}

// TestImageDockerTarball: the --tar file is what `docker load` takes: a
// tarball naming the tag, holding the same image as the layout.
func TestImageDockerTarball(t *testing.T) {
	dir, res := imageForTests(t)
	img, err := tarball.ImageFromPath(filepath.Join(filepath.Dir(dir), "tessera.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(filepath.Join(filepath.Dir(dir), "tessera.tar")) })
	if err != nil || len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{"tessera:test"}) {
		t.Fatalf("manifest.json: %+v %v, want one image tagged tessera:test", m, err)
	}
	got, _ := img.ConfigName()
	want, _ := res.Images[0].Image.ConfigName()
	if got != want {
		t.Errorf("the tarball's config %s, the layout's %s", got, want)
	}
}

// TestImageBinaryServesATokenAndPassesItsHealthCheck runs the image's own
// binary, taken out of its layer, the way the image's configuration
// starts it (Entrypoint, Cmd, Env; only the data folder and the port
// moved to this test's), gets a client-credentials token from it over the
// local CA's HTTPS, and runs the image's health check against it: healthy
// while it serves, unhealthy once it stopped.
func TestImageBinaryServesATokenAndPassesItsHealthCheck(t *testing.T) {
	dir, _ := imageForTests(t)
	img := openLayout(t, dir)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "tessera")
	if err := os.WriteFile(bin, filesystem(t, img)["usr/local/bin/tessera"].body, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	// The image's environment, as a runtime passes it (nothing of this
	// process's), with the test's data folder and a free loopback port.
	env := []string{}
	for _, e := range cf.Config.Env {
		switch {
		case strings.HasPrefix(e, "TESSERA_DATA="):
			e = "TESSERA_DATA=" + data
		case strings.HasPrefix(e, "TESSERA_ADDR="):
			e = "TESSERA_ADDR=" + addr
		case strings.HasPrefix(e, "TESSERA_PUBLIC_URL="):
			e = "TESSERA_PUBLIC_URL=https://localhost:" + port
		}
		env = append(env, e)
	}
	args := append(slices.Clone(cf.Config.Entrypoint[1:]), cf.Config.Cmd...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	// The image logs JSON to stderr and keeps stdout empty; what it says
	// goes to a file, read only after it has exited or on failure.
	logFile, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	logs := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })

	// Serving once the first start has written its admin client and the
	// port answers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("tessera serve exited before serving:\n%s", logs())
		default:
		}
		if _, err := os.Stat(filepath.Join(data, "bootstrap-admin.json")); err == nil {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tessera serve did not start:\n%s", logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	secret, clientID := bootstrapFromFile(t, data)

	health := func() (int, string) {
		hc := exec.Command(bin, cf.Config.Healthcheck.Test[2:]...)
		hc.Env = env
		out, err := hc.CombinedOutput()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode(), string(out)
			}
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := health(); code != 0 {
		t.Errorf("the image's health check against the serving binary: exit %d\n%s", code, out)
	}

	// A token, over HTTPS verified with the local CA the server made in
	// its data folder, for the name of the public URL.
	caPEM, err := os.ReadFile(filepath.Join(data, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	resp, err := client.PostForm("https://"+addr+"/default/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"api://tessera-admin/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	json.Unmarshal(body, &tok)
	if resp.StatusCode != 200 || tok.TokenType != "Bearer" || strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("client credentials: %d %s", resp.StatusCode, body)
	}

	cancel()
	<-exited
	if code, out := health(); code != 1 {
		t.Errorf("the health check with the server stopped: exit %d, want 1\n%s", code, out)
	}
}

// bootstrapFromFile reads the first start's client from a file in the
// data folder, for a server that writes it there instead of to stdout.
func bootstrapFromFile(t *testing.T, data string) (secret, clientID string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "bootstrap-admin.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal(raw, &b); err != nil || b.ClientID == "" || b.ClientSecret == "" {
		t.Fatalf("bootstrap-admin.json: %v %+v", err, b)
	}
	return b.ClientSecret, b.ClientID
}
