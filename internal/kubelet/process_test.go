package kubelet

import (
	"strings"
	"testing"
)

func TestExpandFollowsTheKubeletsRules(t *testing.T) {
	env := map[string]string{"REDIS_URL": "redis://r:6379", "JOB": "j-1"}
	for in, want := range map[string]string{
		"--redis-url=$(REDIS_URL)": "--redis-url=redis://r:6379",
		"$(JOB)-$(JOB)":            "j-1-j-1",
		"$(UNKNOWN)":               "$(UNKNOWN)",
		"$$(JOB)":                  "$(JOB)",
		"cost: $5":                 "cost: $5",
		"open $(JOB":               "open $(JOB",
		"trailing $":               "trailing $",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountPathsMapToThePodsDirectories(t *testing.T) {
	m := mounts{"/work": "/tmp/p/work", "/shared": "/tmp/p/shared", "/work/cache": "/tmp/p/cache"}
	for in, want := range map[string]string{
		"/shared/agent":    "/tmp/p/shared/agent",
		"/work":            "/tmp/p/work",
		"/work/src/a.go":   "/tmp/p/work/src/a.go",
		"/work/cache/x":    "/tmp/p/cache/x",
		"/workspace":       "/workspace",
		"relative/path":    "relative/path",
		"redis://r:6379/0": "redis://r:6379/0",
	} {
		if got := m.path(in); got != want {
			t.Errorf("path(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTerminationMessageIsTheLogTail(t *testing.T) {
	var o output
	for i := range 200 {
		_, _ = o.Write([]byte(strings.Repeat("x", 10) + string(rune('a'+i%26)) + "\n"))
	}
	msg := o.terminationMessage()
	if n := strings.Count(msg, "\n") + 1; n != 80 {
		t.Errorf("%d lines, want the last 80", n)
	}
	if !strings.HasSuffix(msg, "xr") {
		t.Errorf("message ends %q, want the last line", msg[len(msg)-5:])
	}
}
