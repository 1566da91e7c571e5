package gate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/agent-smith/agent-smith/sandbox"
)

// sha is an object id (SHA-1 or SHA-256).
var sha = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// baseFile keeps the base branch and commit the last fetch found, so a
// restarted gate can still push.
const baseFile = "base"

// Fetch implements sandbox.Gate.
func (g *Gate) Fetch(ctx context.Context, req sandbox.FetchRequest) (sandbox.FetchResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out sandbox.FetchResult
	if !g.allowed(req.Branch) {
		return out, fmt.Errorf("gate: branch %q is not the run's", req.Branch)
	}
	if req.Base != "" && (!validRef(req.Base) || g.allowed(req.Base)) {
		return out, fmt.Errorf("gate: invalid base branch %q", req.Base)
	}
	patterns := []string{"refs/heads/" + req.Branch}
	if req.Base == "" {
		patterns = append(patterns, "HEAD")
	} else {
		patterns = append(patterns, "refs/heads/"+req.Base)
	}
	listed, err := g.run(ctx, req.Credential, g.repo, append([]string{"ls-remote", "--symref", g.opts.Remote}, patterns...)...)
	if err != nil {
		return out, err
	}
	refs, head := parseLsRemote(listed)
	out.Base, out.ObjectsDir = req.Base, g.objectsDir()
	if out.Base == "" {
		if out.Base = head; out.Base == "" {
			return out, errors.New("the remote does not say its default branch; set the repository's default_branch")
		}
	}
	out.BaseSHA, out.BranchSHA = refs["refs/heads/"+out.Base], refs["refs/heads/"+req.Branch]
	if req.Base == "" {
		out.BaseSHA = refs["HEAD"] // the branch HEAD points to
	}
	if out.BaseSHA == "" {
		return out, fmt.Errorf("the base branch %s does not exist on the remote", out.Base)
	}
	args := []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", g.opts.Remote,
		"+refs/heads/" + out.Base + ":refs/remotes/origin/" + out.Base}
	if out.BranchSHA != "" {
		args = append(args, "+refs/heads/"+req.Branch+":refs/remotes/origin/"+req.Branch)
	}
	if _, err := g.run(ctx, req.Credential, g.repo, args...); err != nil {
		return out, err
	}
	if err := os.WriteFile(filepath.Join(g.opts.Dir, baseFile), []byte(out.Base+" "+out.BaseSHA+"\n"), 0o644); err != nil {
		return out, fmt.Errorf("gate: %w", err)
	}
	return out, nil
}

// Refs implements sandbox.Gate.
func (g *Gate) Refs(ctx context.Context, req sandbox.RefsRequest) (map[string]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	args := []string{"ls-remote", g.opts.Remote}
	for _, b := range req.Branches {
		if !g.allowed(b) {
			return nil, fmt.Errorf("gate: branch %q is not the run's", b)
		}
		args = append(args, "refs/heads/"+b)
	}
	listed, err := g.run(ctx, req.Credential, g.repo, args...)
	if err != nil {
		return nil, err
	}
	refs, _ := parseLsRemote(listed)
	out := map[string]string{}
	for _, b := range req.Branches {
		if s := refs["refs/heads/"+b]; s != "" {
			out[b] = s
		}
	}
	return out, nil
}

// Push implements sandbox.Gate.
func (g *Gate) Push(ctx context.Context, req sandbox.PushRequest) (sandbox.PushResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out sandbox.PushResult
	switch {
	case !g.allowed(req.Branch):
		return out, fmt.Errorf("gate: branch %q is not the run's: only %s and %s-wip are pushed", req.Branch, g.opts.Branch, g.opts.Branch)
	case !sha.MatchString(req.Commit):
		return out, fmt.Errorf("gate: commit %q is not an object id", req.Commit)
	case req.Lease != "" && !sha.MatchString(req.Lease):
		return out, fmt.Errorf("gate: lease %q is not an object id", req.Lease)
	}
	base, err := g.base()
	if err != nil {
		return out, err
	}
	if err := g.importBundle(ctx, req.Commit, base); err != nil {
		return out, err
	}
	if !g.opts.AllowCIConfigChanges {
		if err := g.guardCI(ctx, base, req.Commit); err != nil {
			return out, err
		}
	}
	out.RemoteSHA = req.Commit
	if req.Commit == req.Lease {
		return out, nil // the remote has it
	}
	ref := "refs/heads/" + req.Branch
	if _, err := g.run(ctx, req.Credential, g.repo, "push", "--porcelain", "--force-with-lease="+ref+":"+req.Lease,
		g.opts.Remote, req.Commit+":"+ref); err != nil {
		return out, err
	}
	out.Pushed = true
	return out, nil
}

// base is the commit of the base branch the last fetch found.
func (g *Gate) base() (string, error) {
	data, err := os.ReadFile(filepath.Join(g.opts.Dir, baseFile))
	if err != nil {
		return "", errors.New("gate: nothing was fetched yet, so there is no base to push onto")
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 || !sha.MatchString(fields[1]) {
		return "", errors.New("gate: its record of the base is damaged")
	}
	return fields[1], nil
}

// importBundle takes the workspace's push bundle into the gate's
// repository and checks that it brings commit. Only the bundle's HEAD is
// taken; whatever other refs it names are ignored.
func (g *Gate) importBundle(ctx context.Context, commit, base string) error {
	copied, err := g.copyBundle()
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(copied) }()
	if _, err := g.run(ctx, nil, g.repo, "bundle", "verify", "--quiet", copied); err != nil {
		return fmt.Errorf("the push bundle is not usable: %w", err)
	}
	f, err := os.Open(copied)
	if err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	defer func() { _ = f.Close() }()
	head, pack, err := readBundleHeader(f)
	if err != nil {
		return err
	}
	// git 2.39 fetches a bundle without fsck: its pack goes through
	// index-pack --strict instead, which checks every object.
	if _, err := g.runWith(ctx, nil, pack, g.repo, "index-pack", "--strict", "--fix-thin", "--stdin"); err != nil {
		return fmt.Errorf("the push bundle was refused: %w", err)
	}
	if head != commit {
		return fmt.Errorf("the push bundle's HEAD is %s, not the commit %s that was to be pushed", head, commit)
	}
	if _, err := g.run(ctx, nil, g.repo, "rev-list", "--objects", "--quiet", "--missing=error", commit, "--not", base); err != nil {
		return fmt.Errorf("the push bundle does not hold all of its commits' objects: %w", err)
	}
	if _, err := g.run(ctx, nil, g.repo, "update-ref", "refs/agent-smith/incoming", commit); err != nil {
		return fmt.Errorf("the push bundle holds no commit %s: %w", commit, err)
	}
	return nil
}

// readBundleHeader reads a bundle's header (v2 or v3) up to its pack and
// returns the object HEAD names there, and the pack.
func readBundleHeader(f *os.File) (string, io.Reader, error) {
	r := bufio.NewReader(f)
	head := ""
	for i := 0; ; i++ {
		line, err := r.ReadString('\n')
		if err != nil || i > 10000 {
			return "", nil, errors.New("the push bundle has no pack")
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case i == 0 && line != "# v2 git bundle" && line != "# v3 git bundle":
			return "", nil, errors.New("the push bundle is not a git bundle")
		case line == "":
			if !sha.MatchString(head) {
				return "", nil, errors.New("the push bundle has no HEAD")
			}
			return head, r, nil
		}
		if id, ref, ok := strings.Cut(line, " "); ok && ref == "HEAD" {
			head = id
		}
	}
}

// parseLsRemote maps each ref of `git ls-remote --symref` output to its
// object id, and returns the branch HEAD points to.
func parseLsRemote(out string) (map[string]string, string) {
	refs, head := map[string]string{}, ""
	for _, line := range strings.Split(out, "\n") {
		left, ref, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		if target, isSym := strings.CutPrefix(left, "ref: refs/heads/"); isSym {
			if ref == "HEAD" {
				head = target
			}
			continue
		}
		refs[ref] = left
	}
	return refs, head
}
