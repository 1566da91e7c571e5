package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image under test is the OCI layout `make image` wrote, named by
// AGENTSMITH_IMAGE_LAYOUT (`make test` sets it, so the binaries are built
// once, by `make binaries`). Without it the test builds the binaries of
// both platforms and the image itself, once per run of the package.
var (
	image    v1.ImageIndex
	imageRef string
	// unpacked maps a platform (linux/amd64) to its unpacked root
	// filesystem and the tar headers of its files.
	unpacked = map[string]*rootfs{}
)

var wantPlatforms = []string{"linux/amd64", "linux/arm64"}

type rootfs struct {
	dir     string
	headers map[string]*tar.Header
}

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "agent-smith-image-test-")
	if err == nil {
		err = setUp(tmp)
	}
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "image test setup:", err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(tmp)
	os.Exit(code)
}

func setUp(tmp string) error {
	dir := os.Getenv("AGENTSMITH_IMAGE_LAYOUT")
	if dir == "" {
		dir = filepath.Join(tmp, "layout")
		if err := buildForTest(tmp, dir); err != nil {
			return err
		}
	}
	var err error
	if image, imageRef, err = ReadLayout(dir); err != nil {
		return err
	}
	m, err := image.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range m.Manifests {
		img, err := image.Image(d.Digest)
		if err != nil {
			return err
		}
		root := filepath.Join(tmp, "rootfs", d.Platform.OS+"_"+d.Platform.Architecture)
		fs, err := unpack(img, root)
		if err != nil {
			return fmt.Errorf("unpack %s: %w", d.Platform, err)
		}
		unpacked[d.Platform.String()] = fs
	}
	return nil
}

// imageBinaries are the Makefile's IMAGE_BINARIES: the orchestrator and
// the slim agent its inject copies.
var imageBinaries = map[string]string{"agent-smith": ".", "agent-smith-agent": "./sandbox/cmd/agent-smith-agent"}

// buildForTest builds what `make image` builds, into tmp.
func buildForTest(tmp, out string) error {
	const ref = "registry.test/agent-smith:v0.0.0-test"
	spec := Spec{BinDir: filepath.Join(tmp, "bin"), Entrypoint: "/agent-smith", Cmd: []string{"serve"}, Ref: ref,
		Version: "v0.0.0-test", Revision: "0000000000000000000000000000000000000000",
		Source: "https://github.com/agent-smith/agent-smith", Created: time.Unix(1700000000, 0).UTC()}
	for _, p := range wantPlatforms {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			return err
		}
		spec.Platforms = append(spec.Platforms, *pl)
		for name, pkg := range imageBinaries {
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(spec.BinDir, pl.OS+"_"+pl.Architecture, name),
				"-ldflags", "-s -w -X github.com/agent-smith/agent-smith/internal/version.Version="+spec.Version+
					" -X github.com/agent-smith/agent-smith/internal/version.Image="+ref, pkg)
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+pl.OS, "GOARCH="+pl.Architecture)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s %s: %w\n%s", pkg, p, err, out)
			}
		}
	}
	idx, err := Build(spec)
	if err != nil {
		return err
	}
	return WriteLayout(out, idx, ref)
}

// unpack extracts img's flattened filesystem into dir.
func unpack(img v1.Image, dir string) (*rootfs, error) {
	fs := &rootfs{dir: dir, headers: map[string]*tar.Header{}}
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fs, nil
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(h.Name, "/")
		fs.headers["/"+name] = h
		path := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeFile(path, tr, h.FileInfo().Mode().Perm())
		default:
			err = fmt.Errorf("%s: unexpected entry type %q", h.Name, h.Typeflag)
		}
		if err != nil {
			return nil, err
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

func imageFor(t *testing.T, platform string) (v1.Image, *v1.ConfigFile) {
	t.Helper()
	m, err := image.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform.String() == platform {
			img, err := image.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			return img, cf
		}
	}
	t.Fatalf("no image for %s", platform)
	return nil, nil
}

func TestImageIndexHasBothPlatformsAndIsNamed(t *testing.T) {
	m, err := image.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", m.MediaType, types.OCIImageIndex)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, d.Platform.String())
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s: manifest media type %s", d.Platform, d.MediaType)
		}
	}
	if !slices.Equal(got, wantPlatforms) {
		t.Errorf("platforms %v, want %v", got, wantPlatforms)
	}
	if !strings.Contains(imageRef, ":") {
		t.Errorf("layout names the image %q, want REPO:TAG", imageRef)
	}
	for _, key := range []string{"org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.revision"} {
		if m.Annotations[key] == "" {
			t.Errorf("index annotation %s missing: %v", key, m.Annotations)
		}
	}
}

// Every platform's image runs the orchestrator as nonroot, with the labels
// a registry shows.
func TestImageConfigRunsServeAsNonrootWithLabels(t *testing.T) {
	for _, p := range wantPlatforms {
		_, cf := imageFor(t, p)
		c := cf.Config
		if c.User != "65532:65532" {
			t.Errorf("%s: user %q, want 65532:65532", p, c.User)
		}
		if !slices.Equal(c.Entrypoint, []string{"/agent-smith"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
			t.Errorf("%s: entrypoint %q cmd %q, want [/agent-smith] [serve]", p, c.Entrypoint, c.Cmd)
		}
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("%s: config says %s/%s", p, cf.OS, cf.Architecture)
		}
		for _, key := range []string{"source", "revision", "version", "licenses", "created", "title"} {
			if c.Labels["org.opencontainers.image."+key] == "" {
				t.Errorf("%s: label org.opencontainers.image.%s missing: %v", p, key, c.Labels)
			}
		}
		if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
			t.Errorf("%s: 8080/tcp not exposed: %v", p, c.ExposedPorts)
		}
	}
}

// Each platform's binaries are built for it, owned by root and not
// writable by the user the image runs as; the user exists, can write /tmp
// and its home, and the CA bundle holds the roots.
func TestImageFilesystem(t *testing.T) {
	machines := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}
	for _, p := range wantPlatforms {
		fs := unpacked[p]
		for name := range imageBinaries {
			h := fs.headers["/"+name]
			if h == nil || h.Uid != 0 || h.Mode&0o777 != 0o755 {
				t.Fatalf("%s: /%s header %+v, want root-owned 0755", p, name, h)
			}
			f, err := elf.Open(filepath.Join(fs.dir, name))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if f.Machine != machines[p] {
				t.Errorf("%s: /%s is built for %s", p, name, f.Machine)
			}
			_ = f.Close()
		}
		if h := fs.headers["/tmp"]; h == nil || h.Mode&0o7777 != 0o1777 {
			t.Errorf("%s: /tmp header %+v, want mode 1777", p, h)
		}
		if h := fs.headers["/home/nonroot"]; h == nil || h.Uid != 65532 || h.Gid != 65532 {
			t.Errorf("%s: /home/nonroot header %+v, want owned by 65532", p, h)
		}
		passwd, err := os.ReadFile(filepath.Join(fs.dir, "etc", "passwd"))
		if err != nil || !bytes.Contains(passwd, []byte("nonroot:x:65532:65532:")) {
			t.Errorf("%s: /etc/passwd lacks nonroot: %q %v", p, passwd, err)
		}
		pem, err := os.ReadFile(filepath.Join(fs.dir, "etc", "ssl", "certs", "ca-certificates.crt"))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) || bytes.Count(pem, []byte("BEGIN CERTIFICATE")) < 100 {
			t.Errorf("%s: CA bundle holds %d certificates, want the NSS store (over 100)", p, bytes.Count(pem, []byte("BEGIN CERTIFICATE")))
		}
	}
}

// The binary of this machine's platform runs from the unpacked image:
// `version` reports the label's version and the image's own name (the
// default agent image of sandbox pods), and `inject` copies the slim agent
// beside it, a fraction of its size, to where a sandbox pod's init
// container puts the agent; the copy runs.
func TestImageBinaryRunsVersionAndInjectsTheSlimAgent(t *testing.T) {
	platform := "linux/" + runtime.GOARCH
	fs, ok := unpacked[platform]
	if runtime.GOOS != "linux" || !ok {
		t.Skipf("no image for this machine (%s/%s)", runtime.GOOS, runtime.GOARCH)
	}
	_, cf := imageFor(t, platform)
	version := cf.Config.Labels["org.opencontainers.image.version"]
	bin := filepath.Join(fs.dir, "agent-smith")
	out := runBin(t, bin, "version")
	want := fmt.Sprintf("agent-smith %s\nimage %s\n", version, imageRef)
	if out != want {
		t.Errorf("version printed %q, want %q", out, want)
	}

	agent := filepath.Join(t.TempDir(), "shared", "agent")
	runBin(t, bin, "inject", agent)
	copied, err := os.ReadFile(agent)
	if err != nil {
		t.Fatal(err)
	}
	slim, err := os.ReadFile(filepath.Join(fs.dir, "agent-smith-agent"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copied, slim) {
		t.Errorf("inject copied %d bytes, the image's slim agent has %d", len(copied), len(slim))
	}
	full, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agent-smith %.1f MB, the injected agent-smith-agent %.1f MB", float64(full.Size())/1e6, float64(len(slim))/1e6)
	if len(slim) > 12<<20 {
		t.Errorf("the slim agent is %d bytes, more than 12 MiB", len(slim))
	}
	if got, want := runBin(t, agent, "version"), "agent-smith-agent "+version+"\n"; got != want {
		t.Errorf("injected agent's version printed %q, want %q", got, want)
	}
}

func runBin(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// The same binaries and creation time give the same image digest, so a
// rebuilt release can be checked against the published one.
func TestBuildIsReproducible(t *testing.T) {
	dir := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		if err := writeFile(filepath.Join(dir, "linux_"+arch, "agent-smith"), strings.NewReader("binary for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	amd, _ := v1.ParsePlatform("linux/amd64")
	arm, _ := v1.ParsePlatform("linux/arm64")
	spec := Spec{BinDir: dir, Platforms: []v1.Platform{*amd, *arm}, Entrypoint: "/agent-smith", Cmd: []string{"serve"},
		Ref: "registry.test/a:1", Version: "1", Revision: "abc", Source: "https://example.test", Created: time.Unix(1, 0).UTC()}
	var digests []v1.Hash
	for range 2 {
		idx, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same inputs: %s and %s", digests[0], digests[1])
	}

	spec.Entrypoint = "/agent"
	if _, err := Build(spec); err == nil || !strings.Contains(err.Error(), "entrypoint /agent is not among the binaries") {
		t.Errorf("an entrypoint that is no binary: %v", err)
	}
}

// The Dockerfile, for people with Docker, makes the same image: the same
// user, entrypoint, default command, port and labels, and the binaries of
// `make binaries` at the root.
func TestDockerfileMatchesTheImage(t *testing.T) {
	final := dockerfileFinalStage(t, filepath.Join("..", "..", "Dockerfile"))
	_, cf := imageFor(t, "linux/amd64")
	c := cf.Config
	if got := final["USER"]; len(got) != 1 || got[0] != c.User {
		t.Errorf("Dockerfile USER %q, image %q", got, c.User)
	}
	for instr, want := range map[string][]string{"ENTRYPOINT": c.Entrypoint, "CMD": c.Cmd} {
		var got []string
		if len(final[instr]) != 1 || json.Unmarshal([]byte(final[instr][0]), &got) != nil || !slices.Equal(got, want) {
			t.Errorf("Dockerfile %s %q, image %q", instr, final[instr], want)
		}
	}
	if got := final["EXPOSE"]; len(got) != 1 || got[0]+"/tcp" != slices.Collect(maps.Keys(c.ExposedPorts))[0] {
		t.Errorf("Dockerfile EXPOSE %q, image %v", got, c.ExposedPorts)
	}
	if got := final["COPY"]; !slices.Contains(got, "--from=build /out/${TARGETOS}_${TARGETARCH}/ /") {
		t.Errorf("Dockerfile does not copy the binaries of make binaries to /: COPY %q", got)
	}
	labels := map[string]string{}
	for _, l := range final["LABEL"] {
		for _, kv := range labelPairs.FindAllStringSubmatch(l, -1) {
			labels[kv[1]] = kv[2]
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(labels)), slices.Sorted(maps.Keys(c.Labels))) {
		t.Errorf("Dockerfile labels %v, image labels %v", slices.Sorted(maps.Keys(labels)), slices.Sorted(maps.Keys(c.Labels)))
	}
	for k, v := range labels {
		if !strings.Contains(v, "${") && v != c.Labels[k] {
			t.Errorf("label %s: Dockerfile %q, image %q", k, v, c.Labels[k])
		}
	}
}

var labelPairs = regexp.MustCompile(`([a-z.]+)="([^"]*)"`)

// dockerfileFinalStage maps each instruction of the Dockerfile's last stage
// to its arguments, one entry per occurrence, continuation lines joined.
func dockerfileFinalStage(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(data), "\\\n", " ")
	stage := map[string][]string{}
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, args, _ := strings.Cut(line, " ")
		if instr == "FROM" {
			stage = map[string][]string{}
		}
		stage[instr] = append(stage[instr], strings.Join(strings.Fields(args), " "))
	}
	return stage
}
