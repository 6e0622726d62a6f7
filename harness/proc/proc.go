package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// Defaults of a Starter.
const (
	DefaultStopSignal = syscall.SIGTERM
	DefaultGrace      = 5 * time.Second
)

// Signals are the signals that ask a workshop process to stop: Ctrl-C, a
// supervisor's or CI's SIGTERM, and SIGHUP from a closed terminal.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// Option configures a Starter.
type Option func(*Starter)

// WithStopSignal sets the signal the child's group gets when its context
// ends (default SIGTERM). Tools that clean up on Ctrl-C only, like
// kwokctl, want SIGINT.
func WithStopSignal(sig syscall.Signal) Option { return func(s *Starter) { s.sig = sig } }

// WithGrace sets how long the group may take to exit after the stop
// signal before it is killed with SIGKILL (default 5 s).
func WithGrace(d time.Duration) Option { return func(s *Starter) { s.grace = d } }

// Starter builds commands with one stop policy.
type Starter struct {
	sig   syscall.Signal
	grace time.Duration
}

// New returns a Starter with the defaults changed by opts.
func New(opts ...Option) Starter {
	s := Starter{sig: DefaultStopSignal, grace: DefaultGrace}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// Command is New().Command.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return New().Command(ctx, name, args...)
}

// Command returns an exec.Cmd that runs in its own process group, dies
// with its parent, and is stopped with its whole group when ctx ends: the
// stop signal first, SIGKILL after the grace period. Callers may set Dir,
// Env and the standard streams as usual; they must not replace
// SysProcAttr, Cancel or WaitDelay.
func (s Starter) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = sysProcAttr(s.sig)
	cmd.Cancel = func() error {
		pid := cmd.Process.Pid
		err := syscall.Kill(-pid, s.sig)
		time.AfterFunc(s.grace, func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	// WaitDelay bounds Wait after the stop: the group is killed at grace, and
	// pipes held open by stray grandchildren are closed a moment later.
	cmd.WaitDelay = s.grace + time.Second
	return cmd
}

// StopGroup sends sig to the process group led by cmd's process (a
// command made by Command), e.g. to stop it before its context ends.
func StopGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.Process == nil {
		return errors.New("process not started")
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// StopOnSignals makes SIGTERM and SIGHUP act like Ctrl-C for a process
// whose cancellation is driven by SIGINT (a mage target's context): each is
// re-raised as SIGINT to this process. The returned function undoes it.
func StopOnSignals() (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// NotifyContext is signal.NotifyContext for Signals: ctx ends on the first
// of Ctrl-C, SIGTERM or SIGHUP.
func NotifyContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, Signals...)
}
