package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: distroless' "nonroot", which the manifests' security
// contexts name too.
const (
	nonrootUID = 65532
	nonrootDir = "/home/nonroot"
)

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// Spec is what an image is made of.
type Spec struct {
	// BinDir holds a directory per platform, named os_arch (linux_amd64),
	// whose files are the image's binaries: each becomes /NAME.
	BinDir     string
	Platforms  []v1.Platform
	Entrypoint string
	Cmd        []string
	// Ref is the reference the image is published as.
	Ref string
	// Version, Revision, Source and Created become OCI labels.
	Version, Revision, Source string
	// Created dates the image and every file in it, so the same binaries
	// give the same digest.
	Created time.Time
}

// Check names every missing part of s.
func (s Spec) Check() error {
	var errs []error
	if len(s.Platforms) == 0 {
		errs = append(errs, errors.New("no platforms"))
	}
	if !strings.HasPrefix(s.Entrypoint, "/") || strings.Count(s.Entrypoint, "/") != 1 {
		errs = append(errs, fmt.Errorf("entrypoint %q: want /NAME, one of the binaries", s.Entrypoint))
	}
	for name, v := range map[string]string{"ref": s.Ref, "version": s.Version, "revision": s.Revision, "source": s.Source} {
		if v == "" {
			errs = append(errs, fmt.Errorf("no %s", name))
		}
	}
	return errors.Join(errs...)
}

// Labels are the OCI annotations of the image: in every image config (where
// `docker inspect` and registries' UIs read them) and on the index.
func (s Spec) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "agent-smith",
		"org.opencontainers.image.description": "Turns tracker tickets into pull requests: the orchestrator (serve) and the agent its sandbox pods inject.",
		"org.opencontainers.image.source":      s.Source,
		"org.opencontainers.image.url":         s.Source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.revision":    s.Revision,
		"org.opencontainers.image.created":     s.Created.Format(time.RFC3339),
	}
}

// Build makes the image index: per platform, the shared base layer (users,
// CA certificates, /tmp) and a layer of that platform's binaries.
func Build(s Spec) (v1.ImageIndex, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	base, err := baseLayer(s.Created)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range s.Platforms {
		img, err := platformImage(s, p, base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}}})
	}
	annotated, ok := mutate.Annotations(idx, s.Labels()).(v1.ImageIndex)
	if !ok {
		return nil, errors.New("annotating the index lost its type")
	}
	return annotated, nil
}

func platformImage(s Spec, p v1.Platform, base v1.Layer) (v1.Image, error) {
	dir := filepath.Join(s.BinDir, p.OS+"_"+p.Architecture)
	bins, names, err := binariesLayer(dir, s.Created)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, strings.TrimPrefix(s.Entrypoint, "/")) {
		return nil, fmt.Errorf("entrypoint %s is not among the binaries in %s (%s)", s.Entrypoint, dir, strings.Join(names, ", "))
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := v1.Time{Time: s.Created}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "hack/image: users, CA certificates, /tmp"}},
		mutate.Addendum{Layer: bins, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "hack/image: " + strings.Join(names, ", ")}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = created
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
		Entrypoint:   []string{s.Entrypoint},
		Cmd:          s.Cmd,
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=" + caBundlePath},
		WorkingDir:   nonrootDir,
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       s.Labels(),
	}
	return mutate.ConfigFile(img, cf)
}

// WriteLayout replaces dir with an OCI image layout holding idx, named ref.
// A dir that exists and is no layout is left alone.
func WriteLayout(dir string, idx v1.ImageIndex, ref string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return fmt.Errorf("%s exists and is not an OCI layout: not replacing it", dir)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: ref})); err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	return nil
}

// ReadLayout is the image index WriteLayout wrote to dir, and its name.
func ReadLayout(dir string) (v1.ImageIndex, string, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("read layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, "", fmt.Errorf("read layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].MediaType != types.OCIImageIndex {
		return nil, "", fmt.Errorf("layout %s: want one image index, found %d entries", dir, len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return nil, "", fmt.Errorf("read layout %s: %w", dir, err)
	}
	return idx, m.Manifests[0].Annotations[refNameAnnotation], nil
}

// Describe prints the index's digest and each platform's compressed layer
// sizes: the figures a release note quotes.
func Describe(w io.Writer, dir string, idx v1.ImageIndex) error {
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: image index %s\n", dir, digest)
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		var sizes []string
		var total int64
		for _, l := range layers {
			n, err := l.Size()
			if err != nil {
				return err
			}
			total += n
			sizes = append(sizes, mib(n))
		}
		fmt.Fprintf(w, "  %s: %s compressed (layers %s)\n", d.Platform, mib(total), strings.Join(sizes, " + "))
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
