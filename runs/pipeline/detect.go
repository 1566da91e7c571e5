package pipeline

import (
	"encoding/json"
	"path"
	"regexp"
	"slices"
	"strings"
)

// rootFiles are the names at a repository's root (directories end in "/").
type rootFiles []string

func (f rootFiles) has(names ...string) bool {
	return slices.ContainsFunc(f, func(n string) bool { return slices.Contains(names, n) })
}

func (f rootFiles) hasExt(exts ...string) bool {
	return slices.ContainsFunc(f, func(n string) bool { return slices.Contains(exts, path.Ext(n)) })
}

// detectLanguage guesses a repository's language from its root files; ""
// when nothing fits.
func detectLanguage(f rootFiles) string {
	switch {
	case f.has("go.mod"):
		return "go"
	case f.has("Cargo.toml"):
		return "rust"
	case f.has("package.json"):
		return "node"
	case f.has("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "pytest.ini"):
		return "python"
	case f.hasExt(".sln", ".csproj", ".fsproj"):
		return "dotnet"
	case f.has("pom.xml", "build.gradle", "build.gradle.kts"):
		return "java"
	}
	return ""
}

// makeTestTarget matches a Makefile rule named test.
var makeTestTarget = regexp.MustCompile(`(?m)^test\s*:([^=]|$)`)

// npmPlaceholder is the test script `npm init` writes, which only fails.
const npmPlaceholder = `echo "Error: no test specified" && exit 1`

// detectTestCommand picks a repository's test command from its root files
// and the contents of its package.json and Makefile; "" when it has none.
func detectTestCommand(f rootFiles, packageJSON, makefile string) string {
	switch {
	case f.has("go.mod"):
		return "go test ./..."
	case f.has("package.json") && hasNPMTest(packageJSON):
		return "npm test"
	case f.has("pyproject.toml", "setup.cfg", "pytest.ini"):
		return "python -m pytest -q"
	case f.has("Cargo.toml"):
		return "cargo test"
	case f.hasExt(".sln", ".csproj", ".fsproj"):
		return "dotnet test"
	case f.has("pom.xml"):
		return "mvn -q test"
	case f.has("gradlew") && f.has("build.gradle", "build.gradle.kts"):
		return "./gradlew test"
	case f.has("build.gradle", "build.gradle.kts"):
		return "gradle test"
	case f.has("Makefile", "makefile", "GNUmakefile") && makeTestTarget.MatchString(makefile):
		return "make test"
	}
	return ""
}

func hasNPMTest(packageJSON string) bool {
	var p struct {
		Scripts map[string]string `json:"scripts"`
	}
	if json.Unmarshal([]byte(packageJSON), &p) != nil {
		return false
	}
	s := strings.TrimSpace(p.Scripts["test"])
	return s != "" && s != npmPlaceholder
}
