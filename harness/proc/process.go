package proc

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Process is a long-running child whose life is bounded by Stop rather
// than by a context: an operator or a node agent that a demo, a test or a
// benchmark starts, drives and stops. It runs under this package's policy
// (see Command): in a process group of its own, so a terminal's Ctrl-C
// reaches only the driver, which then cleans up while the child still runs;
// with the parent-death signal, so it never outlives a driver that dies.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit error, valid once done is closed
}

// Start runs bin with args in the background with its output going to log.
// name says what it is in errors ("operator", "node agent").
func Start(name, bin string, log io.Writer, args ...string) (*Process, error) {
	cmd := Command(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Err is why the process exited (nil for a clean exit); valid once Exited
// is closed.
func (p *Process) Err() error {
	<-p.done
	if p.err != nil {
		return fmt.Errorf("the %s exited: %w", p.name, p.err)
	}
	return nil
}

// Kill sends SIGKILL to the process group, as a crash or the OOM killer
// would, and waits for the process to exit: it gets no chance to clean up.
func (p *Process) Kill() {
	_ = StopGroup(p.cmd, syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM to the process group and waits up to timeout for the
// process to exit, then kills the group. The error says whether the exit
// was unclean or had to be forced.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.Err()
	default:
	}
	_ = StopGroup(p.cmd, syscall.SIGTERM)
	select {
	case <-p.done:
		return p.Err()
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("the %s did not stop within %v after SIGTERM and was killed", p.name, timeout)
	}
}
