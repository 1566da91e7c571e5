package gateway_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
)

// Run with: go test -run '^$' -bench . -benchtime 1x ./sandbox/gateway/ (make bench).
// One iteration of the latency benchmarks is a thousand steps, so that
// their percentiles mean something at any -benchtime.

const samples = 1000

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// BenchmarkRunTrueStep measures a trivial run step through the sandbox API
// and the agent against the same command started directly with os/exec,
// over TLS (the kubernetes backend) and plain loopback HTTP (local). The
// protocol's own cost is sandbox-p50 minus agent-exec-p50.
func BenchmarkRunTrueStep(b *testing.B) {
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"tls", true}, {"plain", false}} {
		b.Run(tc.name, func(b *testing.B) {
			j, _ := startGateway(b, gateway.Options{TLS: tc.tls}).startSandbox(b)
			ctx := context.Background()
			var remote, inAgent, direct []time.Duration
			for b.Loop() {
				for range samples {
					t0 := time.Now()
					res, err := j.Run(ctx, run("true"), nil)
					remote = append(remote, time.Since(t0))
					if err != nil || res.ExitCode != 0 {
						b.Fatalf("run true: %v %+v", err, res)
					}
					inAgent = append(inAgent, seconds(res.DurationSeconds))
					t0 = time.Now()
					if err := exec.Command("true").Run(); err != nil {
						b.Fatal(err)
					}
					direct = append(direct, time.Since(t0))
				}
			}
			rp50, dp50, ap50 := percentile(remote, .5), percentile(direct, .5), percentile(inAgent, .5)
			b.ReportMetric(micros(rp50), "sandbox-p50-µs")
			b.ReportMetric(micros(percentile(remote, .99)), "sandbox-p99-µs")
			b.ReportMetric(micros(dp50), "exec-p50-µs")
			b.ReportMetric(micros(rp50-dp50), "overhead-p50-µs")
			// The agent's own time for the step (it starts `true` too):
			// what is left is the protocol, HTTP and JSON.
			b.ReportMetric(micros(ap50), "agent-exec-p50-µs")
			b.ReportMetric(micros(rp50-ap50), "protocol-p50-µs")
		})
	}
}

// BenchmarkReadFile100KiB measures a readFile of a 100 KiB source file.
func BenchmarkReadFile100KiB(b *testing.B) {
	j, a := startGateway(b, gateway.Options{TLS: true}).startSandbox(b)
	line := strings.Repeat("x", 99) + "\n"
	if err := os.WriteFile(filepath.Join(a.WorkDir, "big.go"), []byte(strings.Repeat(line, 1024)), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var took, inAgent []time.Duration
	for b.Loop() {
		for range samples {
			t0 := time.Now()
			res, err := j.Run(ctx, sandbox.Step{Kind: sandbox.KindReadFile, Path: "big.go"}, nil)
			took = append(took, time.Since(t0))
			if err != nil || len(res.OutputContent) != 100*1024 {
				b.Fatalf("read: %v (%d bytes)", err, len(res.OutputContent))
			}
			inAgent = append(inAgent, seconds(res.DurationSeconds))
		}
	}
	b.ReportMetric(micros(percentile(took, .5)), "p50-µs")
	b.ReportMetric(micros(percentile(took, .99)), "p99-µs")
	b.ReportMetric(micros(percentile(inAgent, .5)), "agent-exec-p50-µs")
}

// BenchmarkEventStreaming1e6Lines measures how fast the output of a command
// printing a million lines reaches onEvent, and what the step's budget
// leaves out.
func BenchmarkEventStreaming1e6Lines(b *testing.B) {
	j, _ := startGateway(b, gateway.Options{TLS: true}).startSandbox(b)
	ctx := context.Background()
	var lines, dropped, events int64
	var took time.Duration
	for b.Loop() {
		t0 := time.Now()
		res, err := j.Run(ctx, run("seq", "1", "1000000"), func(e sandbox.StepEvent) {
			events++
			if e.Kind == sandbox.EventStdout {
				lines += int64(len(e.Lines))
			}
			if e.Kind == sandbox.EventCompleted {
				dropped += e.DroppedLines
			}
		})
		took += time.Since(t0)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("seq: %v %+v", err, res)
		}
	}
	b.ReportMetric(float64(lines)/took.Seconds(), "lines-delivered/s")
	b.ReportMetric(float64(lines)/float64(b.N), "lines-delivered/step")
	b.ReportMetric(float64(dropped)/float64(b.N), "lines-dropped/step")
	b.ReportMetric(float64(events)/float64(b.N), "events/step")
}
