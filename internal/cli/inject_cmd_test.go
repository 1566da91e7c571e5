package cli

import (
	"bytes"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/cmdline"
)

// Beside a test binary there is no slim agent: inject says which file it
// looked for instead of copying itself.
func TestInjectWithoutTheSlimAgentBesideItNamesTheMissingFile(t *testing.T) {
	g := NewWithT(t)
	var stderr bytes.Buffer
	err := runInject([]string{t.TempDir() + "/shared/agent"}, envFrom(nil), &stderr, &stderr)
	g.Expect(err).To(MatchError(ContainSubstring("the slim agent is not beside")))
	g.Expect(err).To(MatchError(ContainSubstring("agent-smith-agent")))

	g.Expect(runInject(nil, envFrom(nil), &stderr, &stderr)).To(Equal(cmdline.ExitError(2)))
	g.Expect(stderr.String()).To(ContainSubstring("inject: want one PATH, got 0 arguments"))
}
