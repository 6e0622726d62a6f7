package backend

import (
	"context"
	"errors"
	"io"
	corev1 "k8s.io/api/core/v1"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
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
	// Nodes is how many nodes to create; 0 means the backend's own
	// default. Each backend decides what a node is (kwok: simulated; kind:
	// the first is the control plane, which also runs pods); the existing
	// backend ignores it.
	Nodes int
	// Log receives progress and the output of provider commands.
	Log io.Writer
	// Listen is the address the API server listens on; empty means
	// loopback only. Every other component stays on loopback whatever it is.
	Listen string
}

// Backend is one way of getting a cluster. Each backend owns its
// behaviour; the public cluster.Provider never asks which backend it has.
type Backend interface {
	// Managed reports whether the workshop owns the cluster's lifecycle:
	// creates, restarts and deletes it, and switches the default
	// kubeconfig to it. False for a cluster it only uses.
	Managed() bool
	// CreateAllowance is the extra time creation may take on top of the
	// readiness timeout (kind may have to start containers).
	CreateAllowance() time.Duration
	// Binaries names the pinned binaries (harness/binaries) the backend
	// runs on this machine, so that a caller can build them in one go
	// before it needs them; none for a backend that runs no host process.
	Binaries() []string
	// Prepare makes ready what Create needs and may take minutes to make,
	// such as building the binaries on a first run. It runs before
	// creation's deadline starts, so a cold build cannot eat it.
	Prepare(ctx context.Context) error
	// Check reports a fault the backend sees directly, without the API
	// server: a control-plane process that has exited, with its last log
	// lines. Waits poll it so a dead component fails them at once. Nil
	// when nothing is wrong or the backend cannot tell.
	Check(ctx context.Context) error
	// RunsNode reports whether the provider runs this node, so that its
	// readiness is the cluster's health; a node registered by something
	// else (demo 05's node agent) is not.
	RunsNode(n *corev1.Node) bool
	// HostIP is the address of this machine that the cluster's nodes and
	// API server reach it on: where a process on this machine, such as
	// demo 05's node agent, must serve for the API server to call it.
	HostIP(ctx context.Context) (string, error)
	// LoadsImages is nil when LoadImage can put a local image into the
	// container runtime of every node; otherwise an error wrapping
	// ErrUnsupported that says why (no containers run at all, or the
	// nodes' runtime is out of reach) and what to do instead. Callers ask
	// before they build an image.
	LoadsImages() error
	// LoadImage loads an image tarball (docker-archive or OCI layout, as
	// `docker save` or go-containerregistry write it) into every node, so
	// that pods use its names without a registry. It fails like
	// LoadsImages where that does.
	LoadImage(ctx context.Context, archive string) error
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

// stopper interrupts provider tools gently when their context ends: SIGINT
// first, so tools like kwokctl get the chance to clean up, then SIGKILL.
var stopper = proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(2*time.Second))

// Command builds an exec.Cmd for a provider tool with the stop policy above
// (harness/proc: own process group, dies with its parent).
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return stopper.Command(ctx, name, args...)
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
