package skills

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed catalog
var embedded embed.FS

// DefaultVersion is the newest catalog version the binary ships.
const DefaultVersion = "v3.0.1"

// EmbeddedVersions lists the catalog versions the binary ships, sorted.
func EmbeddedVersions() []string {
	entries, err := fs.ReadDir(embedded, "catalog")
	if err != nil {
		panic(fmt.Sprintf("embedded skills catalog: %v", err)) // the build embeds it
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// Embedded returns the catalog of version the binary ships; an empty
// version means DefaultVersion.
func Embedded(version string) (*Catalog, error) {
	if version == "" {
		version = DefaultVersion
	}
	versions := EmbeddedVersions()
	if !slices.Contains(versions, version) {
		return nil, fmt.Errorf("skills version %q is not embedded in this binary (it has %s): set skills.version to one of them, or use skills.source path or url",
			version, strings.Join(versions, ", "))
	}
	sub, err := fs.Sub(embedded, "catalog/"+version)
	if err != nil {
		return nil, err
	}
	return parseFS(sub, "default", version, "embedded")
}
