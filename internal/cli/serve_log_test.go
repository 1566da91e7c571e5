package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
)

func TestManagerLogSaysTheLeaseReleaseOnShutdownIsNoError(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, strings.TrimSpace(prefix+" "+args)) },
		funcr.Options{LogCaller: funcr.All})
	log := managerLog(base).WithName("manager").WithValues("replica", "orchestrator-0")

	log.Error(errors.New(errLeaseLost), errAfterStop)
	log.Error(errors.New("etcdserver: request timed out"), errAfterStop)
	log.Error(errors.New(errLeaseLost), "some other report")

	g := NewWithT(t)
	g.Expect(lines).To(HaveLen(3))
	g.Expect(lines[0]).To(And(ContainSubstring(`"msg"="released the leader lease on shutdown"`), ContainSubstring(`"replica"="orchestrator-0"`),
		ContainSubstring("manager"), Not(ContainSubstring(`"error"`))))
	g.Expect(lines[1]).To(And(ContainSubstring(`"error"="etcdserver: request timed out"`), ContainSubstring(errAfterStop)))
	g.Expect(lines[2]).To(ContainSubstring(`"error"="leader election lost"`))
	for _, l := range lines {
		g.Expect(l).To(ContainSubstring(`"caller"={"file"="serve_log_test.go"`), "the caller is the test, not the wrapper")
	}
}
