package skills

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	neturl "net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
)

// Limits of a downloaded catalog: prompts are text, so anything near these
// is not a catalog.
const (
	maxArchiveBytes   = 32 << 20
	maxExtractedBytes = 64 << 20
)

// digestFile marks an extracted catalog with the sha256 of its archive.
const digestFile = ".sha256"

// fromURL returns the catalog of a tar.gz at s.URL, extracted under
// s.CacheDir: reused when the cache holds it for the same digest, else
// downloaded, verified against s.SHA256 and swapped in atomically.
func (l *Loader) fromURL(ctx context.Context, s config.Skills) (*Catalog, error) {
	want := strings.ToLower(s.SHA256)
	if want == "" {
		return nil, errors.New("skills.sha256 is required with skills.source url: a downloaded catalog is verified before it is used")
	}
	name := s.Version
	if name == "" {
		name = "sha256-" + want[:16]
	}
	if !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("skills.version %q cannot name a cache directory", s.Version)
	}
	dir := filepath.Join(s.CacheDir, name)
	if have, err := os.ReadFile(filepath.Join(dir, digestFile)); err == nil && strings.TrimSpace(string(have)) == want {
		return parseExtracted(dir, s)
	}
	logr.FromContextOrDiscard(ctx).Info("downloading skills catalog", "url", redactedURL(s.URL), "version", s.Version)
	if err := os.MkdirAll(s.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("skills cache: %w", err)
	}
	archive, err := l.download(ctx, s.URL, s.CacheDir, want)
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(archive) }()
	tmp, err := os.MkdirTemp(s.CacheDir, ".extract-")
	if err != nil {
		return nil, fmt.Errorf("skills cache: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := extract(archive, tmp); err != nil {
		return nil, fmt.Errorf("skills catalog %s: %w", redactedURL(s.URL), err)
	}
	if err := os.WriteFile(filepath.Join(tmp, digestFile), []byte(want+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("skills cache: %w", err)
	}
	// Parse before swapping in, so a broken catalog never replaces a
	// working one in the cache.
	if _, err := parseExtracted(tmp, s); err != nil {
		return nil, err
	}
	if err := swapIn(tmp, dir); err != nil {
		return nil, fmt.Errorf("skills cache: %w", err)
	}
	return parseExtracted(dir, s)
}

// download streams url into a file in dir while hashing it and returns
// the file once its sha256 is want.
func (l *Loader) download(ctx context.Context, url, dir, want string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("skills catalog: %w", err)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which may carry a token.
		if ue, ok := errors.AsType[*neturl.Error](err); ok {
			err = ue.Err
		}
		return "", fmt.Errorf("download skills catalog %s: %w", redactedURL(url), err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download skills catalog %s: %s", redactedURL(url), resp.Status)
	}
	f, err := os.CreateTemp(dir, ".download-")
	if err != nil {
		return "", fmt.Errorf("skills cache: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, maxArchiveBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	fail := func(err error) (string, error) {
		_ = os.Remove(f.Name())
		return "", err
	}
	switch {
	case err != nil:
		return fail(fmt.Errorf("download skills catalog %s: %w", redactedURL(url), err))
	case n > maxArchiveBytes:
		return fail(fmt.Errorf("skills catalog %s is larger than %d bytes", redactedURL(url), maxArchiveBytes))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fail(fmt.Errorf("skills catalog %s has sha256 %s, but skills.sha256 is %s: refusing it", redactedURL(url), got, want))
	}
	return f.Name(), nil
}

// extract unpacks a tar.gz into dir. Only directories and regular files
// with local paths are accepted: an absolute path, a ".." or a link is an
// error, so an archive cannot write outside dir.
func extract(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("not a gzip archive: %w", err)
	}
	defer func() { _ = gz.Close() }()
	tr := tar.NewReader(gz)
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if name == "" || name == "." || name == "./" {
			continue
		}
		if !filepath.IsLocal(name) || path.IsAbs(hdr.Name) {
			return fmt.Errorf("archive entry %q leaves the catalog directory", hdr.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			total += hdr.Size
			if total > maxExtractedBytes {
				return fmt.Errorf("archive unpacks to more than %d bytes", maxExtractedBytes)
			}
			if err := writeFile(target, io.LimitReader(tr, hdr.Size)); err != nil {
				return err
			}
		case tar.TypeXGlobalHeader:
		default:
			return fmt.Errorf("archive entry %q is not a file or directory (type %q): catalogs hold files only", hdr.Name, hdr.Typeflag)
		}
	}
}

func writeFile(target string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// swapIn replaces dir by tmp: a rename, after moving an old dir aside.
func swapIn(tmp, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		old := dir + ".old"
		_ = os.RemoveAll(old)
		if err := os.Rename(dir, old); err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(old) }()
	}
	return os.Rename(tmp, dir)
}

// parseExtracted parses an extracted catalog. Release archives often wrap
// everything in one top-level directory; that directory is the catalog
// then.
func parseExtracted(dir string, s config.Skills) (*Catalog, error) {
	root := dir
	if _, err := os.Stat(filepath.Join(dir, string(System)+".md")); errors.Is(err, fs.ErrNotExist) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		var dirs []string
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
		if len(dirs) == 1 {
			root = filepath.Join(dir, dirs[0])
		}
	}
	return parseFS(os.DirFS(root), config.SkillsURL, s.Version, redactedURL(s.URL))
}

// redactedURL drops userinfo and query (which may carry a token) from a
// URL for messages.
func redactedURL(raw string) string {
	i := strings.IndexAny(raw, "?#")
	if i >= 0 {
		raw = raw[:i]
	}
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
			rest = rest[at+1:]
		}
		return scheme + "://" + rest
	}
	return raw
}
