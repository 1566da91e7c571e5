package agent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// AsInit runs the agent (this executable with args) as the only child of
// this process and reaps every process that ends up as its child, until
// the agent exits; it returns the agent's exit status.
//
// It is for PID 1 of a sandbox container, which has no init: processes a
// step leaves behind are re-parented to PID 1, and would stay zombies
// without someone calling wait for them. Termination signals are passed on
// to the agent.
func AsInit(args []string) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find own executable: %w", err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	cmd := exec.Command(self, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start sandbox agent: %w", err)
	}
	agent := cmd.Process.Pid
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return 0, fmt.Errorf("wait for sandbox agent: %w", err)
		case pid != agent:
			continue // an orphan, now reaped
		case ws.Signaled():
			return 128 + int(ws.Signal()), nil
		default:
			return ws.ExitStatus(), nil
		}
	}
}
