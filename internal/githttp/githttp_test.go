package githttp_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/githttp"
)

func git(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestClonesAndPushesWithTheTokenAndRefusesWithoutIt(t *testing.T) {
	g := NewWithT(t)
	root := t.TempDir()
	bare := filepath.Join(root, "remote.git")
	_, err := git(t, root, "init", "-q", "--bare", "-b", "main", bare)
	g.Expect(err).NotTo(HaveOccurred())
	srv := githttp.New(func(_, password string) bool { return password == "s3cret-token" })
	srv.Add("/acme/calc", bare)
	web := httptest.NewServer(srv.Wrap(http.NotFoundHandler()))
	t.Cleanup(web.Close)
	host := strings.TrimPrefix(web.URL, "http://")

	work := filepath.Join(root, "work")
	_, err = git(t, root, "init", "-q", "-b", "main", work)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(work, "a"), []byte("a\n"), 0o644)).To(Succeed())
	_, err = git(t, work, "add", "a")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = git(t, work, "commit", "-qm", "a")
	g.Expect(err).NotTo(HaveOccurred())

	out, err := git(t, work, "push", "http://"+host+"/acme/calc", "main")
	g.Expect(err).To(HaveOccurred(), "no credentials")
	g.Expect(out).To(ContainSubstring("could not read Username"), "git was asked for credentials")
	_, err = git(t, work, "push", "http://x-access-token:wrong@"+host+"/acme/calc.git", "main")
	g.Expect(err).To(HaveOccurred(), "wrong credentials")

	_, err = git(t, work, "push", "-q", "http://x-access-token:s3cret-token@"+host+"/acme/calc.git", "main")
	g.Expect(err).NotTo(HaveOccurred())
	head, _ := git(t, work, "rev-parse", "HEAD")
	g.Expect(git(t, bare, "rev-parse", "main")).To(Equal(head))
	_, err = git(t, root, "clone", "-q", "http://x-access-token:s3cret-token@"+host+"/acme/calc", filepath.Join(root, "clone"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.ReadFile(filepath.Join(root, "clone", "a"))).To(BeEquivalentTo("a\n"))

	resp, err := http.Get(web.URL + "/acme/other/info/refs?service=git-upload-pack")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusNotFound), "an unknown repository goes to the wrapped handler")
	_ = resp.Body.Close()
	g.Expect(srv.Requests()).To(ContainElements(
		githttp.Request{Repo: "/acme/calc", Service: "git-receive-pack", User: "", Authorized: false},
		githttp.Request{Repo: "/acme/calc", Service: "git-receive-pack", User: "x-access-token", Authorized: true},
		githttp.Request{Repo: "/acme/calc", Service: "git-upload-pack", User: "x-access-token", Authorized: true},
	))
}
