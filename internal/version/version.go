// Package version holds the release of this build and the image it is
// published as. It imports nothing, so every binary of the repository (the
// orchestrator and the sandbox agent) can report it.
package version

// Version is set at build time with
// -ldflags "-X github.com/agent-smith/agent-smith/internal/version.Version=…"
// (see the Makefile: `git describe --tags`); "dev" otherwise.
var Version = "dev"

// Repository is where the project publishes its image. An operator who
// builds and pushes their own image sets IMG (Makefile), which stamps Image.
const Repository = "ghcr.io/agent-smith/agent-smith"

// Image is the image reference this build is published as, set at build
// time with -ldflags "-X …/internal/version.Image=REPO:TAG" (the Makefile's
// IMG). Sandbox pods inject the agent from it unless sandbox.agent_image
// says otherwise. Empty means Repository:Version.
var Image = ""

// OwnImage is the image this build is published as: Image, or
// Repository:Version when the build did not stamp one.
func OwnImage() string {
	if Image != "" {
		return Image
	}
	return Repository + ":" + Version
}
