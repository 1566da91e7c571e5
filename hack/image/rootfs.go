package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// caBundlePath is where Go (and OpenSSL on Debian) look for trusted roots
// first, and where distroless, the Dockerfile's base, has them.
const caBundlePath = "/etc/ssl/certs/ca-certificates.crt"

// The accounts of distroless' static images: the manifests run the image
// as nonroot (65532).
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
)

// entry is a file or directory of a layer.
type entry struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

// baseLayer is the part of the root filesystem every platform shares (so
// registries store it once): accounts, the CA bundle, /tmp and the homes.
func baseLayer(created time.Time) (v1.Layer, error) {
	certs, err := caBundle()
	if err != nil {
		return nil, err
	}
	return layer(created, []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: nonrootUID, gid: nonrootUID, dir: true},
		{name: "root/", mode: 0o700, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
	})
}

// binariesLayer holds every file of dir as /NAME, owned by root and not
// writable by the user the image runs as. It returns the names too.
func binariesLayer(dir string, created time.Time) (v1.Layer, []string, error) {
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("binaries: %w", err)
	}
	var entries []entry
	var names []string
	for _, f := range files { // os.ReadDir sorts by name: a stable layer
		if !f.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, entry{name: f.Name(), mode: 0o755, data: data})
		names = append(names, f.Name())
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("binaries: %s has no files (make binaries)", dir)
	}
	l, err := layer(created, entries)
	return l, names, err
}

// layer writes entries as a gzipped tar, once, with every time set to
// created and no user or host names: the same entries give the same
// digest.
func layer(created time.Time, entries []entry) (v1.Layer, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created,
			Typeflag: tar.TypeReg, Size: int64(len(e.data)), Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	})
}

// caBundle is the Mozilla NSS trust store that golang.org/x/crypto's
// x509roots/fallback carries, as PEM. Roots that NSS distrusts for
// certificates issued after a date are left out: a PEM file cannot carry
// that constraint, and trusting them without it would widen the trust.
func caBundle() ([]byte, error) {
	var out bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		if err := pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, err
		}
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("the x509roots/fallback bundle has no unconstrained roots")
	}
	return out.Bytes(), nil
}
