package backend

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrUnsupported is returned by a backend for an operation it cannot do.
var ErrUnsupported = errors.New("not supported by this cluster provider")

// CreateOptions are the knobs the public API passes to Create.
type CreateOptions struct {
	// ConfigFile is an extra provider-native config file (e2e-framework's
	// CreateWithConfig), applied on top of the workshop's own config.
	ConfigFile string
	// APIServerPort pins the API server's host port; 0 picks a free one.
	APIServerPort int
	// Nodes is the number of worker nodes to create where the backend
	// decides that (kwok).
	Nodes int
	// Log receives progress and the output of provider commands.
	Log io.Writer
}

// Backend is one way of getting a cluster.
type Backend interface {
	// Provider is the backend's name: kwok, kind or existing.
	Provider() string
	// Exists reports whether a cluster of this name exists, healthy or not.
	Exists(ctx context.Context) (bool, error)
	// Create makes the cluster and writes its standalone kubeconfig to
	// KubeconfigPath. It does not wait for readiness.
	Create(ctx context.Context, opts CreateOptions) error
	// Start restarts an existing cluster whose processes are gone.
	Start(ctx context.Context) error
	// Delete removes the cluster and everything it runs; deleting a
	// cluster that does not exist is not an error.
	Delete(ctx context.Context) error
	// KubeconfigPath is where the cluster's standalone kubeconfig lives.
	KubeconfigPath() string
	// ExportLogs writes the control plane's logs under dir.
	ExportLogs(ctx context.Context, dir string) error
}

// Command builds an exec.Cmd that is interrupted gently when ctx ends: the
// child gets SIGINT, then SIGKILL if it has not exited within a few
// seconds, so tools like kwokctl get the chance to clean up.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Cleanup returns a context for cleaning up after ctx's work: it keeps
// ctx's values but not its cancellation. After Ctrl-C (ctx cancelled) the
// deadline is short, to fit mage's 5-second grace period; otherwise it is
// generous, since kind takes a while to remove its containers.
func Cleanup(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := 2 * time.Minute
	if ctx.Err() != nil {
		timeout = 4 * time.Second
	}
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}

// EnvWithoutKubeconfigUnder returns the environment with KUBECONFIG removed
// when one of its entries lies under dir. The workshop's own standalone
// kubeconfigs live there; tools that merge contexts into "the default
// kubeconfig" must then use ~/.kube/config instead of writing into a file
// that a cluster deletion removes.
func EnvWithoutKubeconfigUnder(env []string, dir string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "KUBECONFIG="); ok && AnyUnder(filepath.SplitList(v), dir) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// AnyUnder reports whether one of paths lies inside dir.
func AnyUnder(paths []string, dir string) bool {
	for _, p := range paths {
		if rel, err := filepath.Rel(dir, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// Environ is os.Environ with EnvWithoutKubeconfigUnder applied.
func Environ(dir string) []string { return EnvWithoutKubeconfigUnder(os.Environ(), dir) }
