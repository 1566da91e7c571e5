// Package nodump makes the calling process non-dumpable
// (prctl(PR_SET_DUMPABLE, 0)): other processes of the same uid can then
// neither ptrace it nor read its /proc/<pid>/environ, mem, fd/ or maps,
// which the kernel hands to root from then on. The sandbox agent, the git
// gate and the orchestrator call it first thing, because each holds a
// credential that the processes they start (a sandbox's steps, git) must
// not read out of them. It needs no privilege and survives fork but not
// exec: a process it starts calls Apply again if it holds secrets too.
//
// It imports nothing of agent-smith.
package nodump
