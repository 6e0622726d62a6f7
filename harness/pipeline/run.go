package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// Runner runs the pipeline's commands from the repository root.
type Runner struct {
	Root   string    // repository root
	Stdout io.Writer // default os.Stdout
	Stderr io.Writer // default os.Stderr
	Env    []string  // extra KEY=VALUE entries for every command
}

func (r *Runner) out() io.Writer {
	if r.Stdout == nil {
		return os.Stdout
	}
	return r.Stdout
}

func (r *Runner) errw() io.Writer {
	if r.Stderr == nil {
		return os.Stderr
	}
	return r.Stderr
}

// Logf prints a pipeline step.
func (r *Runner) Logf(format string, args ...any) {
	fmt.Fprintf(r.errw(), "==> "+format+"\n", args...)
}

// stopper is the pipeline's stop policy: when ctx ends the command's whole
// process group gets SIGINT, as from a terminal's Ctrl-C (go test and the
// e2e suites clean up on it), and SIGKILL 3 s later, within mage's 5-second
// grace period.
var stopper = proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(3*time.Second))

// suiteStopper is the e2e stage's stop policy. A suite stopped while a
// cluster of its own runs (the README suite's, a lifecycle spec's) deletes
// it, which can take longer than mage's grace period. The suites run under
// a reaper that gives them 8 s after the SIGINT, then kills them and stops
// what they left running: a kwok cluster's processes descend from the
// suite that made it, so they are among them.
var suiteStopper = proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(8*time.Second))

// command builds a command run from the repository root with the
// pipeline's stop policy.
func (r *Runner) command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	return r.commandWith(ctx, stopper, env, name, args...)
}

// commandWith is command with the stop policy s.
func (r *Runner) commandWith(ctx context.Context, s proc.Starter, env []string, name string, args ...string) *exec.Cmd {
	cmd := s.Command(ctx, name, args...)
	cmd.Dir = r.Root
	cmd.Env = append(append(os.Environ(), r.Env...), env...)
	cmd.Stdout, cmd.Stderr = r.out(), r.errw()
	return cmd
}

// Run runs a command to completion and names it in the error.
func (r *Runner) Run(ctx context.Context, env []string, name string, args ...string) error {
	return r.run(ctx, r.command(ctx, env, name, args...), nil)
}

// run runs cmd, a command made by command, to completion and names it in
// the error by its arguments as they were before wrap, if any, changed
// them.
func (r *Runner) run(ctx context.Context, cmd *exec.Cmd, wrap func(*exec.Cmd) error) error {
	return r.runUntil(ctx, cmd, wrap, false)
}

// runUntil is run; with detach, a cancelled ctx makes it return at once
// instead of when cmd has exited. That is for a command under a reaper,
// which bounds its own stop and outlives this process if it must: the
// caller can then do its own cleanup within mage's grace period.
func (r *Runner) runUntil(ctx context.Context, cmd *exec.Cmd, wrap func(*exec.Cmd) error, detach bool) error {
	what := strings.Join(cmd.Args, " ")
	if wrap != nil {
		if err := wrap(cmd); err != nil {
			return err
		}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var stopped <-chan struct{}
	if detach {
		stopped = ctx.Done()
	}
	select {
	case err := <-exited:
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w", what, err)
	case <-stopped:
		r.Logf("stopping %s; it finishes stopping on its own (pid %d)", what, cmd.Process.Pid)
		return ctx.Err()
	}
}

// Output runs a command and returns its standard output.
func (r *Runner) Output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := r.command(ctx, nil, name, args...)
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out.String(), nil
}
