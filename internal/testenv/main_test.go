package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// recorder is components that log their starts and stops.
type recorder struct{ log []string }

func (r *recorder) component(name string, err error) Component {
	return func() (func(), error) {
		r.log = append(r.log, "start "+name)
		if err != nil {
			return nil, err
		}
		return func() { r.log = append(r.log, "stop "+name) }, nil
	}
}

func (r *recorder) tests(code int) func() int {
	return func() int { r.log = append(r.log, "tests"); return code }
}

func TestComponentsStartBeforeTheTestsAndStopInReverseAfterThem(t *testing.T) {
	g := NewWithT(t)
	r := &recorder{}
	code := run(r.tests(3), []Component{r.component("redis", nil), r.component("agent", nil)})
	g.Expect(code).To(Equal(3), "the tests' status")
	g.Expect(r.log).To(Equal([]string{"start redis", "start agent", "tests", "stop agent", "stop redis"}))
}

func TestAComponentThatFailsToStartFailsThePackageWithoutTests(t *testing.T) {
	g := NewWithT(t)
	r := &recorder{}
	code := run(r.tests(0), []Component{r.component("redis", nil), r.component("agent", errors.New("go build: exit 1")), r.component("cluster", nil)})
	g.Expect(code).To(Equal(1))
	g.Expect(r.log).To(Equal([]string{"start redis", "start agent", "stop redis"}))
}

func TestWithAgentBuildsTheBinaryAsTheTestsRunAndRemovesIt(t *testing.T) {
	g := NewWithT(t)
	var bin string
	stop, err := WithAgent(&bin)()
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
