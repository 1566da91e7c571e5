package sandbox

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// CommandLine is a run step's command as a person would type it: the
// script of a `/bin/sh -c` step, else its argv with arguments that need it
// quoted.
func (s Step) CommandLine() string {
	if (s.Command == "/bin/sh" || s.Command == "sh") && len(s.Args) == 2 && s.Args[0] == "-c" {
		return s.Args[1]
	}
	parts := make([]string, 0, 1+len(s.Args))
	for _, a := range append([]string{s.Command}, s.Args...) {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?;&|<>()") {
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// Describe renders a step and its result as one line for people, the
// sandbox agent's log of what it did: "$ go test ./... → exit 1 in 2.3s".
// It holds no line break and none of the step's content (a file's text, a
// credential).
func Describe(step Step, res StepResult) string {
	var what string
	switch step.Kind {
	case KindRun:
		what = "$ " + step.CommandLine()
	case KindGrep:
		what = fmt.Sprintf("grep %q in %s", step.Pattern, orRoot(step.Path))
	case KindListFiles, KindDirectoryTree, KindReadFile, KindWriteFile, KindEditFile:
		what = string(step.Kind) + " " + orRoot(step.Path)
	case KindGitFetch, KindGitPush:
		what = string(step.Kind) + " " + step.Branch
	case KindGitRefs:
		what = string(step.Kind) + " " + strings.Join(step.Branches, " ")
	default:
		what = string(step.Kind)
	}
	took := res.Duration().Round(time.Millisecond)
	var outcome string
	switch {
	case res.TimedOut:
		outcome = "timed out"
	case res.Cancelled:
		outcome = "cancelled"
	case res.ErrorMessage != "":
		outcome = "error: " + firstLine(res.ErrorMessage)
	case step.Kind == KindRun:
		outcome = fmt.Sprintf("exit %d", res.ExitCode)
	default:
		outcome = "ok"
	}
	return oneLine(fmt.Sprintf("%s → %s in %s", what, outcome, took))
}

// Duration is how long the step took, as the agent measured it.
func (r StepResult) Duration() time.Duration {
	return time.Duration(r.DurationSeconds * float64(time.Second))
}

func orRoot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// oneLine keeps a line of s's first 300 bytes with its breaks as spaces.
func oneLine(s string) string {
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}
