package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agent-smith/agent-smith/config"
)

// The steps a preset is made of.
const (
	// StepTicket reads the ticket, opens the status comment and marks the
	// ticket in progress.
	StepTicket = "ticket"
	// StepProvision starts one sandbox per repository.
	StepProvision = "provision"
	// StepCheckout clones each repository and checks out the run's branch,
	// reusing it when the remote has it.
	StepCheckout = "checkout"
	// StepContext reads AGENTS.md, the coding principles,
	// .agentsmith/context.yaml and the README, and finds each repository's
	// language and test command.
	StepContext = "context"
	// StepPlan asks for the structured plan; its questions park the run.
	StepPlan = "plan"
	// StepExecute is the tool loop that changes the code.
	StepExecute = "execute"
	// StepWriteTests adds tests for a new feature.
	StepWriteTests = "write-tests"
	// StepTest runs each repository's tests; failures go back to execute
	// once.
	StepTest = "test"
	// StepWriteDocs updates the documentation of a new feature.
	StepWriteDocs = "write-docs"
	// StepReview has a second model review the diff; blocking findings go
	// back to execute once.
	StepReview = "review"
	// StepBootstrap writes the .agentsmith/ files (init-project).
	StepBootstrap = "bootstrap"
	// StepPush commits (with the run's artifacts) and pushes each changed
	// repository.
	StepPush = "push"
	// StepPullRequests opens a pull request per pushed repository and links
	// siblings to each other.
	StepPullRequests = "pull-requests"
	// StepFinalize comments the outcome, moves the ticket to its done
	// status and marks it done.
	StepFinalize = "finalize"
)

var presets = map[string][]string{
	config.PipelineFixBug: {StepTicket, StepProvision, StepCheckout, StepContext, StepPlan, StepExecute,
		StepTest, StepReview, StepPush, StepPullRequests, StepFinalize},
	config.PipelineAddFeature: {StepTicket, StepProvision, StepCheckout, StepContext, StepPlan, StepExecute,
		StepWriteTests, StepTest, StepWriteDocs, StepReview, StepPush, StepPullRequests, StepFinalize},
	config.PipelineFixNoTest: {StepTicket, StepProvision, StepCheckout, StepContext, StepPlan, StepExecute,
		StepReview, StepPush, StepPullRequests, StepFinalize},
	config.PipelineInitProject: {StepTicket, StepProvision, StepCheckout, StepContext, StepBootstrap,
		StepPush, StepPullRequests, StepFinalize},
}

// Steps returns the steps of a pipeline preset, in order.
func Steps(pipeline string) ([]string, error) {
	steps, ok := presets[pipeline]
	if !ok {
		return nil, fmt.Errorf("unknown pipeline %q (want %s)", pipeline, strings.Join(config.Pipelines(), ", "))
	}
	return slices.Clone(steps), nil
}
