// Command image builds tessera's container image without a Dockerfile, a
// daemon or a registry: the static binary (no cgo) on an empty base with
// CA certificates, a non-root user and a data volume, written as an OCI
// image layout (and, with --tar, a tarball for `docker load`).
//
//	go run ./packaging/image --out ./tessera-oci
//	go run ./packaging/image --out ./tessera-oci --tar tessera.tar --tag tessera:v1.2.3 --version v1.2.3
//
// The build is reproducible: every timestamp is SOURCE_DATE_EPOCH (else
// the commit's time, else 0) and every entry is in a fixed order, so the
// same source gives the same digest.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	var o options
	var platforms string
	flag.StringVar(&o.Out, "out", "", "directory to write the OCI image layout to (must not exist or be empty)")
	flag.StringVar(&o.Tar, "tar", "", "also write a `docker load`/`podman load` tarball of the linux/amd64 image (or the first platform) to this file")
	flag.StringVar(&o.Tag, "tag", "tessera:dev", "name and tag of the image (the layout's org.opencontainers.image.ref.name, the tarball's tag)")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated os/arch to build")
	flag.StringVar(&o.Version, "version", "", "release version stamped into the binary and the labels (default from git describe)")
	flag.StringVar(&o.CACerts, "ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to ship (Debian: the ca-certificates package)")
	flag.Parse()
	if o.Out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./packaging/image --out DIR [--tar FILE] [--tag NAME:TAG] [--platforms linux/amd64,linux/arm64] [--version V]")
		os.Exit(2)
	}
	o.Platforms = strings.Split(platforms, ",")
	res, err := build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (index %s", o.Out, res.IndexDigest)
	for _, p := range res.Images {
		fmt.Printf(", %s %s", p.Platform, p.Digest)
	}
	fmt.Println(")")
	if o.Tar != "" {
		fmt.Printf("wrote %s (%s): docker load -i %s\n", o.Tar, o.Tag, o.Tar)
	}
}
