package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
)

func TestSharedStartsOnceWhenFirstAskedAndStopsNewestFirstAfterTheTests(t *testing.T) {
	g := NewWithT(t)
	var log []string
	var mu sync.Mutex
	record := func(s string) { mu.Lock(); defer mu.Unlock(); log = append(log, s) }
	thing := func(name string) *Shared[string] {
		return NewShared(name, func() (string, func(), error) {
			record("start " + name)
			return name + " running", func() { record("stop " + name) }, nil
		})
	}
	redis, cluster := thing("redis"), thing("cluster")
	thing("never asked for")
	g.Expect(log).To(BeEmpty(), "nothing starts before a test asks")

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v, err := redis.get()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(v).To(Equal("redis running"))
		})
	}
	wg.Wait()
	_, _ = cluster.get()
	g.Expect(log).To(Equal([]string{"start redis", "start cluster"}), "one start each, however many tests ask")

	stops.run()
	g.Expect(log).To(Equal([]string{"start redis", "start cluster", "stop cluster", "stop redis"}))
	stops.run()
	g.Expect(log).To(HaveLen(4), "stopped once")
}

func TestAFailedStartFailsEveryTestThatAsksWithItsError(t *testing.T) {
	g := NewWithT(t)
	starts := 0
	s := NewShared("redis-server", func() (int, func(), error) {
		starts++
		return 0, nil, errors.New("redis-server is not installed: run `make test-deps`")
	})
	for range 3 {
		_, err := s.get()
		g.Expect(err).To(MatchError(ContainSubstring("make test-deps")))
	}
	g.Expect(starts).To(Equal(1), "not tried again by every test")
}

func TestTheAgentBinaryIsBuiltAsShippedAndRemovedWhenStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent-smith binary: skipped with -short")
	}
	g := NewWithT(t)
	bin, stop, err := buildAgentTemp()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(stop) // removing twice is harmless

	out, err := exec.Command(bin, "version").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	info, err := exec.Command("go", "version", "-m", bin).Output()
	g.Expect(err).NotTo(HaveOccurred())
	settings := string(info)
	if race {
		g.Expect(settings).To(ContainSubstring("-race=true"), "the agent is race-checked with the tests")
	} else {
		g.Expect(settings).To(ContainSubstring("CGO_ENABLED=0"), "static, as shipped")
		g.Expect(settings).NotTo(ContainSubstring("-race=true"))
	}

	stop()
	_, err = os.Stat(filepath.Dir(bin))
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "the temporary directory is gone")
}
