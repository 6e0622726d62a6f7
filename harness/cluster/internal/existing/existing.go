package existing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/kind"
)

// ErrNoCluster means the kubeconfig names no usable cluster.
var ErrNoCluster = errors.New("no cluster in kubeconfig")

// Backend is a cluster reached through an existing kubeconfig.
type Backend struct {
	kubeconfig string // KUBECONFIG as given (may be a list)
}

var _ backend.Backend = (*Backend)(nil)

// New uses kubeconfig (a path or a KUBECONFIG-style list); empty means
// clientcmd's default, ~/.kube/config.
func New(kubeconfig string) *Backend {
	if kubeconfig == "" {
		kubeconfig = clientcmd.RecommendedHomeFile
	}
	return &Backend{kubeconfig: kubeconfig}
}

// Managed implements backend.Backend: the cluster is the user's.
func (b *Backend) Managed() bool { return false }

// CreateAllowance implements backend.Backend.
func (b *Backend) CreateAllowance() time.Duration { return 0 }

// Check implements backend.Backend: only the API server can tell.
func (b *Backend) Check(context.Context) error { return nil }

// KubeconfigPath implements backend.Backend: KUBECONFIG as it is.
func (b *Backend) KubeconfigPath() string { return b.kubeconfig }

// Exists implements backend.Backend: the kubeconfig has a current context.
func (b *Backend) Exists(context.Context) (bool, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(b.kubeconfig)}
	cfg, err := rules.Load()
	if err != nil {
		return false, fmt.Errorf("load kubeconfig %s: %w", b.kubeconfig, err)
	}
	if cfg.CurrentContext == "" || cfg.Contexts[cfg.CurrentContext] == nil {
		if _, err := os.Stat(b.kubeconfig); err != nil {
			return false, fmt.Errorf("%w: %s does not exist; set KUBECONFIG to your cluster's kubeconfig", ErrNoCluster, b.kubeconfig)
		}
		return false, fmt.Errorf("%w: %s has no current context; run `kubectl config use-context NAME`", ErrNoCluster, b.kubeconfig)
	}
	return true, nil
}

// Create implements backend.Backend: never creates.
func (b *Backend) Create(context.Context, backend.CreateOptions) error {
	return fmt.Errorf("the existing provider never creates clusters: %w; point KUBECONFIG at a running cluster or use CLUSTER_PROVIDER=kwok", backend.ErrUnsupported)
}

// Start implements backend.Backend.
func (b *Backend) Start(context.Context) error {
	return fmt.Errorf("the existing provider cannot restart a cluster: %w", backend.ErrUnsupported)
}

// Delete implements backend.Backend: never deletes; not an error.
func (b *Backend) Delete(context.Context) error { return nil }

// ExportLogs implements backend.Backend.
func (b *Backend) ExportLogs(context.Context, string) error {
	return fmt.Errorf("export logs of an existing cluster: %w", backend.ErrUnsupported)
}

// HostIP implements backend.Backend. A kind cluster made outside the
// harness (its nodes carry kind's provider ID, kind://ENGINE/CLUSTER/NODE)
// reaches this machine at the kind network's gateway; any other cluster is
// taken to run here, on loopback, since where it runs is unknown.
func (b *Backend) HostIP(ctx context.Context) (string, error) {
	engine, err := b.kindEngine(ctx)
	if err != nil {
		return "", err
	}
	if engine == "" {
		return "127.0.0.1", nil
	}
	return kind.GatewayIP(ctx, kind.RealExec, engine)
}

// kindEngine is the container engine of the cluster's kind nodes, or ""
// when no node is a kind node.
func (b *Backend) kindEngine(ctx context.Context) (string, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(b.kubeconfig)}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return "", fmt.Errorf("load kubeconfig %s: %w", b.kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list the nodes of the cluster in %s: %w", b.kubeconfig, err)
	}
	for _, n := range nodes.Items {
		if id, ok := kind.ParseProviderID(n.Spec.ProviderID); ok {
			return id.Engine, nil
		}
	}
	return "", nil
}

// RunsNode implements backend.Backend: every node of the user's cluster counts.
func (b *Backend) RunsNode(*corev1.Node) bool { return true }

// Binaries implements backend.Backend: the cluster runs elsewhere.
func (b *Backend) Binaries() []string { return nil }

// Prepare implements backend.Backend: there is nothing to make.
func (b *Backend) Prepare(context.Context) error { return nil }

// LoadsImages implements backend.Backend: the workshop cannot reach the
// container runtime of a cluster it did not create.
func (b *Backend) LoadsImages() error {
	return fmt.Errorf("cannot load an image into the nodes of the existing cluster in %s: %w; "+
		"push the image to a registry its nodes can pull from, or use CLUSTER_PROVIDER=kind", b.kubeconfig, backend.ErrUnsupported)
}

// LoadImage implements backend.Backend: see LoadsImages.
func (b *Backend) LoadImage(context.Context, string) error { return b.LoadsImages() }
