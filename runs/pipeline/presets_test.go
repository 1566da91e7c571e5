package pipeline

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
)

func TestPresetsAreTheDocumentedStepOrders(t *testing.T) {
	common := []string{StepTicket, StepProvision, StepCheckout, StepContext}
	publish := []string{StepPush, StepPullRequests, StepFinalize}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := map[string][]string{
		config.PipelineFixBug:      cat(common, []string{StepPlan, StepExecute, StepTest, StepReview}, publish),
		config.PipelineAddFeature:  cat(common, []string{StepPlan, StepExecute, StepWriteTests, StepTest, StepWriteDocs, StepReview}, publish),
		config.PipelineFixNoTest:   cat(common, []string{StepPlan, StepExecute, StepReview}, publish),
		config.PipelineInitProject: cat(common, []string{StepBootstrap}, publish),
	}
	for pipeline, want := range cases {
		t.Run(pipeline, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Steps(pipeline)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(want))
			for _, s := range got {
				g.Expect(stepFuncs).To(HaveKey(s), "every step of a preset has an implementation")
			}
		})
	}
	g := NewWithT(t)
	g.Expect(config.Pipelines()).To(ConsistOf(keys(cases)), "every pipeline the config accepts is a preset")
	_, err := Steps("security-scan")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown pipeline "security-scan"`)))
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
