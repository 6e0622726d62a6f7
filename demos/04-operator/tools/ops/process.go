package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Package is the operator's import path, for `go build` and gexec.Build.
const Package = "github.com/kubeworkshop/kubeworkshop/demos/04-operator/cmd"

// BuildOperator compiles the operator into dir and returns the binary's path.
func BuildOperator(ctx context.Context, dir string) (string, error) {
	root, err := repo.Root("")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	bin := filepath.Join(dir, "podset-operator")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, Package)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", Package, err, out)
	}
	return bin, nil
}

// Process is an operator running in the background.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit error, valid once done is closed

	// MetricsURL is the operator's plain-HTTP metrics endpoint.
	MetricsURL string
	// ReadyURL is the operator's /readyz endpoint.
	ReadyURL string
}

// StartOperator starts bin against the cluster of kubeconfig with metrics
// and probes on free local ports, sending its output to log. extraArgs are
// appended to the command line.
func StartOperator(bin, kubeconfig string, log io.Writer, extraArgs ...string) (*Process, error) {
	metrics, err := freePort()
	if err != nil {
		return nil, err
	}
	probes, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(metrics),
		"--health-probe-bind-address", "127.0.0.1:" + strconv.Itoa(probes),
	}, extraArgs...)
	// harness/proc's policy: its own process group, so Ctrl-C in the terminal
	// reaches only the driver, which then cleans up while the operator still
	// runs and stops it with one SIGTERM (Stop); the parent-death signal
	// stops it should the driver die. Its life is Stop's, not a context's.
	cmd := proc.Command(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{
		cmd:        cmd,
		done:       make(chan struct{}),
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics),
		ReadyURL:   fmt.Sprintf("http://127.0.0.1:%d/readyz", probes),
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the operator's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits for the
// process to exit. The operator gets no chance to release its Lease.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// WaitReady polls /readyz until it answers 200, the process exits, or ctx
// ends.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.done:
			return false, fmt.Errorf("operator exited before it was ready: %v", p.err)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.ReadyURL, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the operator to be ready at %s: %w", p.ReadyURL, err)
	}
	return nil
}

// Stop sends SIGTERM and waits up to timeout for a clean exit, then kills
// the process. It returns an error when the exit was not clean.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal operator: %w", err)
	}
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("operator did not stop within %s after SIGTERM and was killed", timeout)
	}
}

func (p *Process) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("operator exited: %w", p.err)
	}
	return nil
}

// freePort asks the kernel for a free TCP port on the loopback interface.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
