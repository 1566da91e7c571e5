package skills

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
)

// Loader loads the catalog a config's skills block names. Embedded and
// downloaded catalogs are parsed once per process and version; a local
// directory is read again on every Load, so edits apply to the next run.
// Safe for concurrent use.
type Loader struct {
	client *http.Client

	mu    sync.Mutex
	cache map[config.Skills]*Catalog
}

// NewLoader returns a loader that downloads with client (nil:
// http.DefaultClient).
func NewLoader(client *http.Client) *Loader {
	if client == nil {
		client = http.DefaultClient
	}
	return &Loader{client: client, cache: map[config.Skills]*Catalog{}}
}

// Load returns the catalog of s.
func (l *Loader) Load(ctx context.Context, s config.Skills) (*Catalog, error) {
	switch s.Source {
	case config.SkillsPath:
		return fromPath(s)
	case config.SkillsDefault, config.SkillsURL:
	default:
		return nil, fmt.Errorf("unknown skills source %q (want default, path or url)", s.Source)
	}
	// One load at a time: two runs starting together download once.
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.cache[s]; ok {
		return c, nil
	}
	var (
		c   *Catalog
		err error
	)
	if s.Source == config.SkillsDefault {
		c, err = Embedded(s.Version)
	} else {
		c, err = l.fromURL(ctx, s)
	}
	if err != nil {
		return nil, err
	}
	logr.FromContextOrDiscard(ctx).Info("skills catalog loaded", "catalog", c.String())
	l.cache[s] = c
	return c, nil
}

// fromPath reads a catalog directory: skills.path itself, or its
// subdirectory named by skills.version when one is set.
func fromPath(s config.Skills) (*Catalog, error) {
	dir := s.Path
	if s.Version != "" {
		dir = filepath.Join(s.Path, s.Version)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("skills catalog directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("skills catalog %s is not a directory", dir)
	}
	return parseFS(os.DirFS(dir), config.SkillsPath, s.Version, dir)
}
