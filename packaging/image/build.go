package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image is made of. The uid is distroless's "nonroot": not 0,
// and not one a host is likely to have given a person.
const (
	binPath  = "/usr/local/bin/tessera"
	dataDir  = "/var/lib/tessera"
	caPath   = "/etc/ssl/certs/ca-certificates.crt"
	licPath  = "/usr/local/share/doc/tessera/LICENSE"
	uid      = 65532
	port     = "8443"
	source   = "https://github.com/tessera-id/tessera"
	userName = "tessera"
)

type options struct {
	Out       string   // OCI image layout directory
	Tar       string   // optional docker-load tarball
	Tag       string   // image name:tag
	Platforms []string // os/arch
	Version   string   // release version; "" means git describe
	CACerts   string   // CA bundle to ship
	// Binaries, when set, are prebuilt binaries by platform (tests).
	Binaries map[string]string
}

type result struct {
	IndexDigest v1.Hash
	Images      []builtImage
}

type builtImage struct {
	Platform string
	Digest   v1.Hash
	Image    v1.Image
}

// build makes one image per platform, writes them as an index to the
// layout, and the tarball if asked.
func build(o options) (*result, error) {
	if entries, err := os.ReadDir(o.Out); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("--out %s exists and is not empty", o.Out)
	}
	if _, err := name.NewTag(o.Tag); err != nil {
		return nil, fmt.Errorf("--tag %q: %w", o.Tag, err)
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	epoch, err := sourceDateEpoch(root)
	if err != nil {
		return nil, err
	}
	version, revision := o.Version, gitOutput(root, "rev-parse", "HEAD")
	if version == "" {
		version = gitOutput(root, "describe", "--tags", "--always", "--dirty")
	}
	if version == "" {
		version = "dev"
	}
	ca, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates (Debian: apt-get install ca-certificates): %w", err)
	}
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return nil, err
	}
	base, err := newLayer(baseFiles(ca, license), epoch)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tessera-image")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	res := &result{}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, platform := range o.Platforms {
		goos, goarch, ok := strings.Cut(platform, "/")
		if !ok || goos != "linux" {
			return nil, fmt.Errorf("platform %q: want linux/ARCH", platform)
		}
		bin := o.Binaries[platform]
		if bin == "" {
			bin = filepath.Join(tmp, "tessera-"+goarch)
			if err := goBuild(root, goarch, o.Version, bin); err != nil {
				return nil, err
			}
		}
		binary, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		top, err := newLayer([]file{
			{name: "usr/", mode: 0o755, dir: true},
			{name: "usr/local/", mode: 0o755, dir: true},
			{name: "usr/local/bin/", mode: 0o755, dir: true},
			{name: strings.TrimPrefix(binPath, "/"), mode: 0o755, body: binary},
		}, epoch)
		if err != nil {
			return nil, err
		}
		img, err := newImage(goarch, base, top, epoch, version, revision)
		if err != nil {
			return nil, err
		}
		digest, err := img.Digest()
		if err != nil {
			return nil, err
		}
		res.Images = append(res.Images, builtImage{Platform: platform, Digest: digest, Image: img})
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: goos, Architecture: goarch},
		}})
	}
	if res.IndexDigest, err = idx.Digest(); err != nil {
		return nil, err
	}
	p, err := layout.Write(o.Out, empty.Index)
	if err != nil {
		return nil, err
	}
	// The ref name lets `skopeo copy oci:DIR:TAG` and `podman load` pick
	// the image by tag.
	_, tag, _ := strings.Cut(o.Tag, ":")
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		return nil, err
	}
	if o.Tar != "" {
		pick := res.Images[0]
		for _, im := range res.Images {
			if im.Platform == "linux/amd64" {
				pick = im
			}
		}
		ref, _ := name.NewTag(o.Tag)
		if err := tarball.WriteToFile(o.Tar, ref, pick.Image); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// newImage is the image of one platform: an empty base, the two layers,
// and the configuration a runtime starts it with.
func newImage(goarch string, base, top v1.Layer, epoch time.Time, version, revision string) (v1.Image, error) {
	created := v1.Time{Time: epoch}
	labels := map[string]string{
		"org.opencontainers.image.title":       "tessera",
		"org.opencontainers.image.description": "Self-hosted OAuth 2.0 / OpenID Connect identity provider",
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.url":         source,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.revision":    revision,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     epoch.UTC().Format(time.RFC3339),
	}
	cfg := &v1.ConfigFile{
		Architecture: goarch,
		OS:           "linux",
		Created:      created,
		Config: v1.Config{
			User:       strconv.Itoa(uid) + ":" + strconv.Itoa(uid),
			Entrypoint: []string{binPath},
			Cmd:        []string{"serve"},
			Env: []string{
				"PATH=/usr/local/bin",
				"TESSERA_DATA=" + dataDir,
				// Every interface of the container: the runtime's port
				// mapping decides what reaches it.
				"TESSERA_ADDR=0.0.0.0:" + port,
				// What `-p 8443:8443` on a workstation reaches; a real
				// deployment sets its own.
				"TESSERA_PUBLIC_URL=https://localhost:" + port,
				"TESSERA_LOG_FORMAT=json",
			},
			Volumes:      map[string]struct{}{dataDir: {}},
			ExposedPorts: map[string]struct{}{port + "/tcp": {}},
			WorkingDir:   "/",
			Labels:       labels,
			StopSignal:   "SIGTERM",
			// `tessera health` reads the same TESSERA_* variables as
			// the server, so it probes the address, scheme and
			// certificate the server uses (see internal/cli/health.go).
			Healthcheck: &v1.HealthConfig{
				Test:        []string{"CMD", binPath, "health"},
				Interval:    30 * time.Second,
				Timeout:     10 * time.Second,
				StartPeriod: 30 * time.Second,
				Retries:     3,
			},
		},
	}
	img, err := mutate.ConfigFile(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: created, CreatedBy: "packaging/image: base", Comment: "CA certificates, user tessera (" + strconv.Itoa(uid) + "), " + dataDir}},
		mutate.Addendum{Layer: top, History: v1.History{Created: created, CreatedBy: "packaging/image: binary", Comment: "CGO_ENABLED=0 go build -trimpath ./cmd/tessera"}},
	)
}

// file is one entry of a layer.
type file struct {
	name string
	mode int64
	uid  int
	dir  bool
	body []byte
}

// baseFiles are the system files: what a static Go binary needs from an
// OS (CA certificates to verify a PostgreSQL or an upstream over TLS; a
// passwd naming its user) and the data folder, owned by that user, which
// a fresh named volume copies (owner and mode) from the image.
func baseFiles(ca, license []byte) []file {
	id := strconv.Itoa(uid)
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" + userName + ":x:" + id + ":" + id + ":tessera:/nonexistent:/sbin/nologin\n"
	group := "root:x:0:\n" + userName + ":x:" + id + ":\n"
	return []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(caPath, "/"), mode: 0o644, body: ca},
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/share/", mode: 0o755, dir: true},
		{name: "usr/local/share/doc/", mode: 0o755, dir: true},
		{name: "usr/local/share/doc/tessera/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(licPath, "/"), mode: 0o644, body: license},
		{name: "var/", mode: 0o755, dir: true},
		{name: "var/lib/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(dataDir, "/") + "/", mode: 0o700, dir: true, uid: uid},
	}
}

// newLayer is a gzip'd tar of files, in the order given, every time
// epoch: the same files give the same digest.
func newLayer(files []file, epoch time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: epoch, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// goBuild builds the static binary for linux/goarch.
func goBuild(root, goarch, version, out string) error {
	ldflags := "-s -w"
	if version != "" {
		ldflags += " -X github.com/tessera-id/tessera/internal/cli.Version=" + version
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=auto", "-ldflags="+ldflags, "-o", out, "./cmd/tessera")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build (linux/%s): %v\n%s", goarch, err, b)
	}
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", errors.New("run it inside tessera's module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// sourceDateEpoch is the one time stamped everywhere: SOURCE_DATE_EPOCH
// (reproducible-builds.org), else the commit's time, else the Unix epoch.
func sourceDateEpoch(root string) (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = gitOutput(root, "log", "-1", "--format=%ct")
	}
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func gitOutput(dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
