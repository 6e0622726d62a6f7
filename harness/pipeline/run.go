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

// command builds a command run from the repository root with the
// pipeline's stop policy.
func (r *Runner) command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := stopper.Command(ctx, name, args...)
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
	what := strings.Join(cmd.Args, " ")
	if wrap != nil {
		if err := wrap(cmd); err != nil {
			return err
		}
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
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
