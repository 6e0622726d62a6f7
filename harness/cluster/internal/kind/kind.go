package kind

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	corev1 "k8s.io/api/core/v1"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
	"github.com/kubeworkshop/kubeworkshop/harness/kindimage"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

// DefaultConfig is the workshop's kind cluster configuration.
//
//go:embed cluster.yaml
var DefaultConfig []byte

// UpstreamNodeImage is kind's published node image for the pinned
// Kubernetes version. It cannot be pulled without a registry, so the
// workshop builds its own (harness/kindimage) unless KIND_NODE_IMAGE names
// one.
const UpstreamNodeImage = "kindest/node:v1.37.0"

// ErrNoContainerRuntime means no container runtime kind can drive is usable.
var ErrNoContainerRuntime = errors.New("no usable container runtime for kind")

// Runtime is a container runtime kind can use.
type Runtime struct {
	Name   string // docker, podman or nerdctl
	option kindcluster.ProviderOption
}

// Exec runs a command and returns its combined output; replaced in tests.
type Exec func(ctx context.Context, name string, args ...string) ([]byte, error)

// RealExec runs a command with a 15 s timeout and returns its combined output.
func RealExec(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// DetectRuntime finds the first runtime whose CLI exists and whose engine
// answers `info`. kind's own detection only checks the CLI, which is not
// enough on machines with a Docker client but no daemon.
func DetectRuntime(ctx context.Context, lookPath func(string) (string, error), run Exec) (Runtime, error) {
	candidates := []Runtime{
		{"docker", kindcluster.ProviderWithDocker()},
		{"podman", kindcluster.ProviderWithPodman()},
		{"nerdctl", kindcluster.ProviderWithNerdctl("")},
	}
	var problems []string
	for _, c := range candidates {
		if _, err := lookPath(c.Name); err != nil {
			continue
		}
		out, err := run(ctx, c.Name, "info")
		if err == nil {
			return c, nil
		}
		problems = append(problems, fmt.Sprintf("%s is installed but `%s info` failed: %s", c.Name, c.Name, reason(out, err)))
	}
	if len(problems) == 0 {
		problems = append(problems, "none of docker, podman or nerdctl is installed")
	}
	return Runtime{}, fmt.Errorf("%w: %s; start the engine (e.g. `sudo dockerd &`) or use CLUSTER_PROVIDER=kwok, which needs no containers",
		ErrNoContainerRuntime, strings.Join(problems, "; "))
}

// reason picks the line of a failed `info` that explains the failure (the
// output starts with a "Client:" section that says nothing about it).
func reason(out []byte, err error) string {
	var last string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lower := strings.ToLower(line)
		if strings.Contains(lower, "error") || strings.Contains(lower, "cannot") || strings.Contains(lower, "permission denied") {
			return line
		}
		last = line
	}
	if last != "" {
		return last
	}
	return err.Error()
}

// DefaultNodes is how many nodes a kind cluster gets when neither
// CLUSTER_NODES nor a kind config says: one control-plane node that also
// runs pods.
const DefaultNodes = 1

// untaintedControlPlane keeps the control-plane node schedulable when the
// cluster has workers too. kind only removes kubeadm's control-plane taint
// from single-node clusters; an empty list tells kubeadm to add none.
const untaintedControlPlane = "kind: InitConfiguration\nnodeRegistration:\n  taints: []\n"

// LoadConfig parses a kind cluster config strictly and applies kind's
// defaults, then the workshop's port override. raw nil means DefaultConfig.
func LoadConfig(raw []byte, apiServerPort int) (*v1alpha4.Cluster, error) {
	if raw == nil {
		raw = DefaultConfig
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		return nil, err
	}
	return finishConfig(cfg, apiServerPort)
}

// GenerateConfig is DefaultConfig for a cluster of nodes nodes (0 means
// DefaultNodes): one control-plane node, which runs pods too, and nodes-1
// workers, with the workshop's port override applied.
func GenerateConfig(nodes, apiServerPort int) (*v1alpha4.Cluster, error) {
	if nodes == 0 {
		nodes = DefaultNodes
	}
	if nodes < 0 {
		return nil, fmt.Errorf("kind config: %d nodes; want at least 1", nodes)
	}
	cfg, err := parseConfig(DefaultConfig)
	if err != nil {
		return nil, err
	}
	cfg.Nodes = []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}}
	if nodes > 1 {
		cfg.Nodes[0].KubeadmConfigPatches = []string{untaintedControlPlane}
	}
	for range nodes - 1 {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole})
	}
	return finishConfig(cfg, apiServerPort)
}

func parseConfig(raw []byte) (*v1alpha4.Cluster, error) {
	var cfg v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parse kind config: %w", err)
	}
	if cfg.Kind != "Cluster" || cfg.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, fmt.Errorf("kind config: want kind Cluster, apiVersion kind.x-k8s.io/v1alpha4; got %s, %s", cfg.Kind, cfg.APIVersion)
	}
	return &cfg, nil
}

func finishConfig(cfg *v1alpha4.Cluster, apiServerPort int) (*v1alpha4.Cluster, error) {
	v1alpha4.SetDefaultsCluster(cfg)
	if !slices.ContainsFunc(cfg.Nodes, func(n v1alpha4.Node) bool { return n.Role == v1alpha4.ControlPlaneRole }) {
		return nil, errors.New("kind config: needs at least one control-plane node")
	}
	if apiServerPort != 0 {
		cfg.Networking.APIServerPort = int32(apiServerPort)
	}
	return cfg, nil
}

// config is the cluster config Create uses: the user's kind config file
// when there is one (e2e-framework's CreateWithConfig first, then
// KIND_CONFIG), which then also decides the nodes, so a node count that
// disagrees with it is reported on log and ignored; otherwise the
// generated config for opts.Nodes nodes.
func (b *Backend) config(opts backend.CreateOptions) (*v1alpha4.Cluster, error) {
	file := cmp.Or(opts.ConfigFile, b.configFile)
	if file == "" {
		return GenerateConfig(opts.Nodes, opts.APIServerPort)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read kind config: %w", err)
	}
	cfg, err := LoadConfig(raw, opts.APIServerPort)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if opts.Nodes != 0 && opts.Nodes != len(cfg.Nodes) {
		fmt.Fprintf(opts.Log, "WARNING: CLUSTER_NODES=%d is ignored: the kind config %s defines the nodes (%d)\n", opts.Nodes, file, len(cfg.Nodes))
	}
	return cfg, nil
}

// Backend is a kind cluster.
type Backend struct {
	name       string
	kubeconfig string
	configFile string // KIND_CONFIG; empty means DefaultConfig
	nodeImage  string // KIND_NODE_IMAGE; empty means harness/kindimage's
	cacheDir   string
	lookPath   func(string) (string, error)
	exec       Exec
}

var _ backend.Backend = (*Backend)(nil)

// New returns the backend for cluster name; its standalone kubeconfig is
// kept under cacheDir/kind/<name>/. An empty nodeImage means the
// workshop's own node image, built offline on first use (harness/kindimage).
func New(name, cacheDir, configFile, nodeImage string) *Backend {
	return &Backend{
		name:       name,
		cacheDir:   cacheDir,
		kubeconfig: filepath.Join(cacheDir, "kind", name, "kubeconfig.yaml"),
		configFile: configFile,
		nodeImage:  nodeImage,
		lookPath:   exec.LookPath,
		exec:       RealExec,
	}
}

// WithExec replaces how commands are found and run (for tests).
func (b *Backend) WithExec(lookPath func(string) (string, error), run Exec) *Backend {
	b.lookPath, b.exec = lookPath, run
	return b
}

// Managed implements backend.Backend.
func (b *Backend) Managed() bool { return true }

// CreateAllowance implements backend.Backend: kind waits up to 3 minutes
// for its own readiness, and the first use on a machine builds the node
// image, which takes many minutes cold (harness/kindimage).
func (b *Backend) CreateAllowance() time.Duration {
	if b.nodeImage == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if ref, err := kindimage.Reference(kindimage.WithCacheDir(b.cacheDir)); err != nil || !kindimage.Exists(ctx, "docker", ref) {
			return 90 * time.Minute
		}
	}
	return 5 * time.Minute
}

// Check implements backend.Backend: the API server's health is the check.
func (b *Backend) Check(context.Context) error { return nil }

// KubeconfigPath implements backend.Backend.
func (b *Backend) KubeconfigPath() string { return b.kubeconfig }

func (b *Backend) provider(ctx context.Context) (*kindcluster.Provider, error) {
	rt, err := DetectRuntime(ctx, b.lookPath, b.exec)
	if err != nil {
		return nil, err
	}
	return kindcluster.NewProvider(rt.option), nil
}

// Exists implements backend.Backend.
func (b *Backend) Exists(ctx context.Context) (bool, error) {
	p, err := b.provider(ctx)
	if err != nil {
		return false, err
	}
	names, err := p.List()
	if err != nil {
		return false, fmt.Errorf("list kind clusters: %w", err)
	}
	return slices.Contains(names, b.name), nil
}

// Create implements backend.Backend.
func (b *Backend) Create(ctx context.Context, opts backend.CreateOptions) error {
	p, err := b.provider(ctx) // fail before anything is created
	if err != nil {
		return err
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	cfg, err := b.config(opts)
	if err != nil {
		return err
	}
	image := b.nodeImage
	if image == "" {
		// Built on first use (several minutes cold), found in well under a
		// second afterwards.
		if image, err = kindimage.Ensure(ctx, kindimage.WithLog(opts.Log), kindimage.WithCacheDir(b.cacheDir)); err != nil {
			return fmt.Errorf("kind node image (or set KIND_NODE_IMAGE): %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(b.kubeconfig), 0o700); err != nil {
		return err
	}
	// kind's Create blocks without a context; run it aside so Ctrl-C is
	// honoured, and delete whatever it made if we were interrupted.
	done := make(chan error, 1)
	go func() {
		done <- p.Create(b.name,
			kindcluster.CreateWithV1Alpha4Config(cfg),
			kindcluster.CreateWithNodeImage(image),
			kindcluster.CreateWithWaitForReady(3*time.Minute),
			kindcluster.CreateWithKubeconfigPath(b.kubeconfig),
			kindcluster.CreateWithDisplayUsage(false),
			kindcluster.CreateWithDisplaySalutation(false),
		)
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("kind create cluster %q (node image %s): %w", b.name, image, err)
		}
		return b.loadWorkload(ctx, p, opts.Log)
	case <-ctx.Done():
		// kind's Create takes no context, and waiting for it to finish
		// outlasts mage's 5-second cleanup window, leaving running nodes
		// behind. Delete its nodes from under it instead, which makes its
		// next step fail, and keep deleting until it returns, so that a
		// node container it was starting just then goes too.
		fmt.Fprintf(opts.Log, "interrupted: deleting the nodes kind is creating for %q ...\n", b.name)
		for {
			_ = p.Delete(b.name, b.kubeconfig)
			select {
			case <-done:
				_ = p.Delete(b.name, b.kubeconfig)
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
}

// Start implements backend.Backend: kind nodes are containers that kind
// does not restart; recreate the cluster instead.
func (b *Backend) Start(context.Context) error {
	return fmt.Errorf("restart kind cluster %q: %w (run `go tool mage cluster:down cluster:up`)", b.name, backend.ErrUnsupported)
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context) error {
	p, err := b.provider(ctx)
	if err != nil {
		return err
	}
	if err := p.Delete(b.name, b.kubeconfig); err != nil {
		return fmt.Errorf("kind delete cluster %q: %w", b.name, err)
	}
	return os.RemoveAll(filepath.Dir(b.kubeconfig))
}

// ExportLogs implements backend.Backend.
func (b *Backend) ExportLogs(ctx context.Context, dir string) error {
	p, err := b.provider(ctx)
	if err != nil {
		return err
	}
	if err := p.CollectLogs(b.name, dir); err != nil {
		return fmt.Errorf("collect kind logs: %w", err)
	}
	return nil
}

// HostIP implements backend.Backend: kind's nodes are containers on the
// "kind" network, which reach this machine at the network's gateway.
func (b *Backend) HostIP(ctx context.Context) (string, error) {
	rt, err := DetectRuntime(ctx, b.lookPath, b.exec)
	if err != nil {
		return "", err
	}
	return GatewayIP(ctx, b.exec, rt.Name)
}

// GatewayIP is this machine's IPv4 address on the engine's "kind" network:
// the network's gateway, a bridge of this host that only the node
// containers reach. engine is docker (podman's inspect differs).
func GatewayIP(ctx context.Context, run Exec, engine string) (string, error) {
	out, err := run(ctx, engine, "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}")
	if err != nil {
		return "", fmt.Errorf("find this host's address on the kind network: %s network inspect kind: %s", engine, reason(out, err))
	}
	for _, f := range strings.Fields(string(out)) {
		if ip := net.ParseIP(f); ip != nil && ip.To4() != nil {
			return f, nil
		}
	}
	return "", fmt.Errorf("the kind network has no IPv4 gateway (%q)", strings.TrimSpace(string(out)))
}

// ProviderID is what kind writes into each of its nodes' spec.providerID:
// kind://ENGINE/CLUSTER/NODE.
type ProviderID struct{ Engine, Cluster, Node string }

// ParseProviderID reads a node's provider ID; false when kind did not set it.
func ParseProviderID(id string) (ProviderID, bool) {
	rest, ok := strings.CutPrefix(id, "kind://")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		return ProviderID{}, false
	}
	return ProviderID{Engine: parts[0], Cluster: parts[1], Node: parts[2]}, true
}

// RunsNode implements backend.Backend: kind gives each of its nodes its
// provider ID; a node that joined from elsewhere (demo 05's agent, named
// <cluster>-wasm) has none.
func (b *Backend) RunsNode(n *corev1.Node) bool {
	id, ok := ParseProviderID(n.Spec.ProviderID)
	return ok && id.Cluster == b.name
}

// LoadsImages implements backend.Backend: kind's nodes run containerd.
func (b *Backend) LoadsImages() error { return nil }

// Binaries implements backend.Backend: kind runs as a library here, and the
// cluster in containers from the node image.
func (b *Backend) Binaries() []string { return nil }

// Prepare implements backend.Backend: the node image is built by
// `go tool mage kind:image`, not here.
func (b *Backend) Prepare(context.Context) error { return nil }

// LoadImage implements backend.Backend: the archive is imported into the
// containerd of every node of the cluster, as `kind load image-archive`
// does.
func (b *Backend) LoadImage(ctx context.Context, archive string) error {
	p, err := b.provider(ctx)
	if err != nil {
		return err
	}
	_, err = b.loadArchive(p, archive)
	return err
}

// loadArchive imports the archive into every node and returns how many
// there are.
func (b *Backend) loadArchive(p *kindcluster.Provider, archive string) (int, error) {
	nodes, err := p.ListInternalNodes(b.name)
	if err != nil {
		return 0, fmt.Errorf("list nodes of kind cluster %q: %w", b.name, err)
	}
	if len(nodes) == 0 {
		return 0, fmt.Errorf("kind cluster %q has no nodes to load %s into; create it with `CLUSTER_PROVIDER=kind CLUSTER_NAME=%s go tool mage cluster:up`", b.name, archive, b.name)
	}
	for _, n := range nodes {
		f, err := os.Open(archive)
		if err != nil {
			return 0, fmt.Errorf("open image archive: %w", err)
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("load %s into node %s: %w", archive, n.String(), err)
		}
	}
	return len(nodes), nil
}

// loadWorkload loads the suites' workload image (harness/workload), built
// from this repository's source, into every node, so that pods using its
// names start without a registry.
func (b *Backend) loadWorkload(ctx context.Context, p *kindcluster.Provider, log io.Writer) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	archive, err := workload.Archive(ctx, root, b.cacheDir)
	if err != nil {
		return fmt.Errorf("workload image: %w", err)
	}
	n, err := b.loadArchive(p, archive)
	if err != nil {
		return fmt.Errorf("workload image: %w", err)
	}
	fmt.Fprintf(log, "loaded the workload image (%s) into %d node(s)\n", strings.Join(workload.Names, ", "), n)
	return nil
}
