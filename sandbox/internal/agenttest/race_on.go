//go:build race

package agenttest

// race is set when the tests run with the race detector, so the agent
// binary they start is checked too.
const race = true
