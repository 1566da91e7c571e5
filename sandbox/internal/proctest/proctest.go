// Package proctest answers questions tests ask about processes.
//
// Test support: no production package may import it (depguard).
package proctest

import (
	"fmt"
	"os"
	"strings"
)

// Gone reports whether a process no longer runs: absent, or a zombie
// waiting for whoever inherited it.
func Gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}
