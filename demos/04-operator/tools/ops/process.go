package ops

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// Process is an operator running in the background: a proc.Process (Stop,
// Kill, Pid, Exited) with its endpoints.
type Process struct {
	*proc.Process

	// MetricsURL is the operator's plain-HTTP metrics endpoint.
	MetricsURL string
	// ReadyURL is the operator's /readyz endpoint.
	ReadyURL string
}

// StartOperator starts bin against the cluster of kubeconfig with metrics
// and probes on free local ports, sending its output to log. extraArgs are
// appended to the command line. Its life is Stop's, not a context's.
func StartOperator(bin, kubeconfig string, log io.Writer, extraArgs ...string) (*Process, error) {
	metrics, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	probes, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(metrics),
		"--health-probe-bind-address", "127.0.0.1:" + strconv.Itoa(probes),
	}, extraArgs...)
	p, err := proc.Start("operator", bin, log, args...)
	if err != nil {
		return nil, err
	}
	return &Process{
		Process:    p,
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics),
		ReadyURL:   fmt.Sprintf("http://127.0.0.1:%d/readyz", probes),
	}, nil
}

// WaitReady polls /readyz until it answers 200, the process exits, or ctx
// ends.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.Exited():
			return false, fmt.Errorf("before it was ready: %w", p.Err())
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
