//go:build race

package testenv

// race is set when the tests run with the race detector, so the agent
// binary they start is built with it too.
const race = true
