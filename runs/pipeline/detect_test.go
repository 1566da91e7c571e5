package pipeline

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestDetectTestCommandFromRootFiles(t *testing.T) {
	cases := []struct {
		name     string
		files    []string
		pkg      string
		makefile string
		want     string
		lang     string
	}{
		{"go module", []string{"go.mod", "main.go", "Makefile"}, "", "test:\n\tgo test -race ./...\n", "go test ./...", "go"},
		{"npm with a test script", []string{"package.json"}, `{"scripts": {"test": "jest"}}`, "", "npm test", "node"},
		{"npm init placeholder is no test", []string{"package.json"}, `{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}`, "", "", "node"},
		{"npm without scripts", []string{"package.json"}, `{"name": "x"}`, "", "", "node"},
		{"pyproject", []string{"pyproject.toml", "src/"}, "", "", "python -m pytest -q", "python"},
		{"pytest.ini", []string{"pytest.ini"}, "", "", "python -m pytest -q", "python"},
		{"requirements alone: python without a known runner", []string{"requirements.txt"}, "", "", "", "python"},
		{"cargo", []string{"Cargo.toml"}, "", "", "cargo test", "rust"},
		{"solution", []string{"TodoList.sln", "src/"}, "", "", "dotnet test", "dotnet"},
		{"project file", []string{"Api.csproj"}, "", "", "dotnet test", "dotnet"},
		{"maven", []string{"pom.xml"}, "", "", "mvn -q test", "java"},
		{"gradle wrapper", []string{"build.gradle.kts", "gradlew"}, "", "", "./gradlew test", "java"},
		{"gradle", []string{"build.gradle"}, "", "", "gradle test", "java"},
		{"makefile test target", []string{"Makefile", "add.sh"}, "", "build:\n\tcc x.c\ntest: build\n\tsh test.sh\n", "make test", ""},
		{"makefile variable named test is no target", []string{"Makefile"}, "", "test := yes\nall:\n", "", ""},
		{"nothing", []string{"README.md"}, "", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(detectTestCommand(rootFiles(tc.files), tc.pkg, tc.makefile)).To(Equal(tc.want))
			g.Expect(detectLanguage(rootFiles(tc.files))).To(Equal(tc.lang))
		})
	}
}
