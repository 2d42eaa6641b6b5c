package framework

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Terminate sends SIGTERM to the process, as a kubelet does to stop a pod, and waits up to
// timeout for it to exit. It returns the exit code; a process that is still running after
// timeout is killed, and Terminate returns an error. Stop may still be called afterwards.
func (c *Controller) Terminate(timeout time.Duration) (int, error) {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("failed to send SIGTERM to fed-controller: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	select {
	case err := <-exited:
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, nil
		case errors.As(err, &exit):
			return exit.ExitCode(), nil
		default:
			return 0, fmt.Errorf("failed to wait for fed-controller: %w", err)
		}
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		err := <-exited
		return 0, fmt.Errorf("fed-controller did not exit within %s of SIGTERM and was killed: %w", timeout, err)
	}
}
