package skills_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/skills"
)

var sample = skills.Input{
	Pipeline: "fix-bug",
	Ticket:   skills.Ticket{ID: "42", Title: "Sum is off by one", Body: "add(2, 3) returns 4"},
	Repos: []skills.Repo{
		{Name: "api", Language: "go", TestCommand: "go test ./...", Tree: "go.mod\nadd.go", Notes: "- keep gofmt"},
		{Name: "web", Language: "node", TestCommand: "npm test", Tree: "package.json"},
	},
	MultiRepo:      true,
	Principles:     "Errors are wrapped.",
	PrinciplesPath: ".agentsmith/coding-principles.md",
	Plan:           "1. api: fix add",
	Summary:        "add adds now",
	Feedback:       "FAIL TestAdd",
	Diff:           "-a - b\n+a + b",
}

func TestEmbeddedCatalogRendersEveryRoleWithTheRunsFacts(t *testing.T) {
	g := NewWithT(t)
	c, err := skills.Embedded("")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Version).To(Equal(skills.DefaultVersion))
	g.Expect(c.String()).To(Equal("default v3.0.1 (embedded)"))
	want := map[skills.Role][]string{
		skills.System:      {"api, web", "Errors are wrapped."},
		skills.Planner:     {"ticket 42: Sum is off by one", "add(2, 3) returns 4", "### api (go)", "`go test ./...`", `"questions": []`, "api, web"},
		skills.Implementer: {"Sum is off by one", "1. api: fix add", "### Notes for go (api)", "- keep gofmt"},
		skills.Fixup:       {"FAIL TestAdd"},
		skills.Reviewer:    {"-a - b\n+a + b", "add adds now", `"approved": true`},
		skills.Tester:      {"add adds now", "npm test"},
		skills.Documenter:  {"add adds now"},
		skills.Bootstrap:   {".agentsmith/context.yaml", "`.agentsmith/coding-principles.md`"},
	}
	g.Expect(want).To(HaveLen(len(skills.Roles)))
	for _, role := range skills.Roles {
		out, err := c.Render(role, sample)
		g.Expect(err).NotTo(HaveOccurred(), string(role))
		for _, s := range want[role] {
			g.Expect(out).To(ContainSubstring(s), string(role))
		}
		g.Expect(out).NotTo(ContainSubstring("<no value>"), string(role))
	}
	g.Expect(c.Language("Go")).To(ContainSubstring("gofmt"))
	g.Expect(c.Language("cobol")).To(BeEmpty())
}

func TestUnknownEmbeddedVersionNamesTheShippedOnes(t *testing.T) {
	g := NewWithT(t)
	_, err := skills.NewLoader(nil).Load(context.Background(), config.Skills{Source: config.SkillsDefault, Version: "v9.9.9"})
	g.Expect(err).To(MatchError(And(ContainSubstring(`"v9.9.9" is not embedded`), ContainSubstring("it has v3.0.1"))))
	g.Expect(skills.EmbeddedVersions()).To(ContainElement("v3.0.1"))
}

// catalogFiles is a complete catalog whose prompts say which file they
// came from.
func catalogFiles(tag string) map[string]string {
	files := map[string]string{"lang/go.md": "go notes " + tag}
	for _, r := range skills.Roles {
		files[string(r)+".md"] = string(r) + " " + tag + " for {{.Ticket.ID}}"
	}
	return files
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPathSourceReadsTheVersionDirectoryAndEditsApplyToTheNextLoad(t *testing.T) {
	g := NewWithT(t)
	root := t.TempDir()
	writeTree(t, filepath.Join(root, "v2"), catalogFiles("v2"))
	l := skills.NewLoader(nil)
	s := config.Skills{Source: config.SkillsPath, Path: root, Version: "v2"}
	c, err := l.Load(context.Background(), s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Render(skills.Planner, sample)).To(Equal("planner v2 for 42"))
	g.Expect(c.Version).To(Equal("v2"))

	writeTree(t, filepath.Join(root, "v2"), map[string]string{"planner.md": "edited {{.Ticket.Title}}"})
	c, err = l.Load(context.Background(), s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Render(skills.Planner, sample)).To(Equal("edited Sum is off by one"))

	_, err = l.Load(context.Background(), config.Skills{Source: config.SkillsPath, Path: root, Version: "v9"})
	g.Expect(err).To(MatchError(ContainSubstring("v9")))
}

func TestIncompleteOrBrokenCatalogReportsEveryProblem(t *testing.T) {
	g := NewWithT(t)
	root := t.TempDir()
	files := catalogFiles("x")
	delete(files, "reviewer.md")
	delete(files, "tester.md")
	files["planner.md"] = "{{.Ticket.ID"
	writeTree(t, root, files)
	_, err := skills.NewLoader(nil).Load(context.Background(), config.Skills{Source: config.SkillsPath, Path: root})
	g.Expect(err).To(MatchError(And(ContainSubstring("reviewer.md"), ContainSubstring("tester.md"), ContainSubstring("planner prompt"))))
}

func TestOverridesReplaceSomeRolesOnly(t *testing.T) {
	g := NewWithT(t)
	c, err := skills.Embedded("v3.0.1")
	g.Expect(err).NotTo(HaveOccurred())
	o, err := c.WithOverrides(map[skills.Role]string{skills.Reviewer: "house rules for {{.Ticket.ID}}"}, "api/.agentsmith/skills")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Render(skills.Reviewer, sample)).To(Equal("house rules for 42"))
	g.Expect(o.Render(skills.Planner, sample)).To(ContainSubstring("Plan the work"))
	g.Expect(c.Render(skills.Reviewer, sample)).To(ContainSubstring("strict senior colleague"), "the original is untouched")
	_, err = c.WithOverrides(map[skills.Role]string{skills.Planner: "{{if}}"}, "api/.agentsmith/skills")
	g.Expect(err).To(MatchError(ContainSubstring("api/.agentsmith/skills")))
	// A field the Input does not have fails when rendered, naming it.
	bad, err := c.WithOverrides(map[skills.Role]string{skills.Planner: "{{.Nope}}"}, "x")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = bad.Render(skills.Planner, sample)
	g.Expect(err).To(MatchError(ContainSubstring("Nope")))
}

// tarball builds a tar.gz of entries, in order.
type entry struct {
	name     string
	body     string
	typeflag byte
	link     string
}

func tarball(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		tf := e.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: tf, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if tf != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if tf == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func catalogEntries(prefix, tag string) []entry {
	var out []entry
	for name, body := range catalogFiles(tag) {
		out = append(out, entry{name: prefix + name, body: body})
	}
	return out
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// serve answers every request with body and counts the requests.
func serve(t *testing.T, body []byte) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestURLSourceVerifiesTheDigestAndReusesTheCache(t *testing.T) {
	g := NewWithT(t)
	archive := tarball(t, catalogEntries("agentsmith-skills-v2/", "from-url"))
	srv, requests := serve(t, archive)
	cache := t.TempDir()
	s := config.Skills{Source: config.SkillsURL, URL: srv.URL + "/skills.tar.gz?token=s3cret", SHA256: sum(archive), Version: "v2", CacheDir: cache}

	wrong := s
	wrong.SHA256 = sum([]byte("something else"))
	_, err := skills.NewLoader(srv.Client()).Load(context.Background(), wrong)
	g.Expect(err).To(MatchError(And(ContainSubstring("refusing it"), Not(ContainSubstring("s3cret")))))
	leftovers, _ := os.ReadDir(cache)
	g.Expect(leftovers).To(BeEmpty(), "a refused download leaves nothing in the cache")

	c, err := skills.NewLoader(srv.Client()).Load(context.Background(), s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Render(skills.Planner, sample)).To(Equal("planner from-url for 42"))
	g.Expect(c.String()).To(And(HavePrefix("url v2"), Not(ContainSubstring("s3cret"))))
	g.Expect(filepath.Join(cache, "v2", "agentsmith-skills-v2", "planner.md")).To(BeAnExistingFile())

	// Another process (a new loader) finds the extracted catalog.
	_, err = skills.NewLoader(srv.Client()).Load(context.Background(), s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(requests.Load()).To(Equal(int32(2)), "one refused and one accepted download, then the cache")
}

func TestURLSourceRequiresADigest(t *testing.T) {
	g := NewWithT(t)
	_, err := skills.NewLoader(nil).Load(context.Background(), config.Skills{Source: config.SkillsURL, URL: "http://127.0.0.1:1/x.tar.gz", CacheDir: t.TempDir()})
	g.Expect(err).To(MatchError(ContainSubstring("skills.sha256 is required")))
}

func TestURLSourceRefusesArchivesThatEscapeTheCatalog(t *testing.T) {
	cases := map[string]entry{
		"parent directory": {name: "../evil.md", body: "x"},
		"nested parent":    {name: "lang/../../evil.md", body: "x"},
		"absolute path":    {name: "/tmp/evil.md", body: "x"},
		"symlink":          {name: "lang/link.md", typeflag: tar.TypeSymlink, link: "/etc/passwd"},
		"hard link":        {name: "lang/hard.md", typeflag: tar.TypeLink, link: "system.md"},
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			archive := tarball(t, append(catalogEntries("", "x"), bad))
			srv, _ := serve(t, archive)
			parent := t.TempDir()
			cache := filepath.Join(parent, "cache")
			_, err := skills.NewLoader(srv.Client()).Load(context.Background(),
				config.Skills{Source: config.SkillsURL, URL: srv.URL, SHA256: sum(archive), Version: "v1", CacheDir: cache})
			g.Expect(err).To(HaveOccurred())
			g.Expect(filepath.Join(parent, "evil.md")).NotTo(BeAnExistingFile())
			_, statErr := os.Stat(filepath.Join(cache, "v1"))
			g.Expect(statErr).To(MatchError(fs.ErrNotExist), "nothing was swapped into the cache")
		})
	}
}
