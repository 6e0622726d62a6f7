package kwok

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/ports"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// Files under the repository's kwok/ directory.
const (
	ConfigFile   = "kwokctl.yaml" // KwokctlConfiguration without binary paths
	NodeTemplate = "node.yaml"    // the Node every simulated node is made from
	StagesDir    = "stages"       // Stage objects; they replace kwok's defaults
)

// DefaultNodes is how many simulated nodes a cluster gets unless
// CLUSTER_NODES says otherwise.
const DefaultNodes = 3

// Binaries returns the pinned binary Set, building what is missing.
type Binaries func(ctx context.Context, only ...string) (*binaries.Set, error)

// Backend is a kwokctl-managed cluster.
type Backend struct {
	name     string
	workdir  string // KWOK_WORKDIR: kwokctl's state for every cluster
	kwokDir  string // the repository's kwok/ directory
	cacheDir string
	bins     Binaries
}

var _ backend.Backend = (*Backend)(nil)

// New returns the backend for cluster name. State goes under
// cacheDir/kwok; configs are read from kwokDir.
func New(name, cacheDir, kwokDir string, bins Binaries) *Backend {
	return &Backend{name: name, workdir: filepath.Join(cacheDir, "kwok"), kwokDir: kwokDir, cacheDir: cacheDir, bins: bins}
}

// Managed implements backend.Backend.
func (b *Backend) Managed() bool { return true }

// CreateAllowance implements backend.Backend: a kwok cluster starts in
// seconds, within the readiness timeout.
func (b *Backend) CreateAllowance() time.Duration { return 0 }

func (b *Backend) clusterDir() string { return filepath.Join(b.workdir, "clusters", b.name) }

// KubeconfigPath implements backend.Backend: kwokctl's standalone file.
func (b *Backend) KubeconfigPath() string { return filepath.Join(b.clusterDir(), "kubeconfig.yaml") }

// Exists implements backend.Backend.
func (b *Backend) Exists(context.Context) (bool, error) {
	_, err := os.Stat(filepath.Join(b.clusterDir(), "kwok.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// binaryNames are the pinned binaries a kwok cluster runs: kwokctl and the
// control plane it starts.
var binaryNames = []string{binaries.Kwokctl, binaries.Kwok, binaries.Etcd,
	binaries.KubeAPIServer, binaries.KubeControllerManager, binaries.KubeScheduler}

// Binaries implements backend.Backend.
func (b *Backend) Binaries() []string { return slices.Clone(binaryNames) }

// Prepare implements backend.Backend: it builds the binaries the cluster
// runs that are missing from the cache.
func (b *Backend) Prepare(ctx context.Context) error {
	_, err := b.bins(ctx, binaryNames...)
	return err
}

// Create implements backend.Backend. The components' ports come from the
// machine-wide registry (harness/cluster/internal/ports), so that clusters
// created at the same moment never share one, and creation fails as soon
// as a component exits, with its last log lines.
func (b *Backend) Create(ctx context.Context, opts backend.CreateOptions) error {
	set, err := b.bins(ctx, binaryNames...)
	if err != nil {
		return err
	}
	s := Settings{Listen: opts.Listen}
	if s.Ports, err = reservePorts(opts.APIServerPort); err != nil {
		return err
	}
	if opts.Listen != "" {
		s.CertSANs = hostAddresses()
	}
	cfg, err := b.Config(set.Path, s)
	if err != nil {
		return err
	}
	genDir := filepath.Join(b.workdir, "configs")
	if err := mkdirPrivate(b.cacheDir, b.workdir, genDir); err != nil {
		return err
	}
	cfgPath := filepath.Join(genDir, b.name+".yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return fmt.Errorf("write kwokctl config: %w", err)
	}
	args := []string{"create", "cluster", "--config", cfgPath}
	if opts.ConfigFile != "" {
		args = append(args, "--config", opts.ConfigFile)
	}
	// kwokctl's own log lines are structured JSON: keep them for the error
	// message rather than flooding the presenter's terminal. Meanwhile watch
	// the components it starts: one that exits fails creation at once.
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := b.watch(cctx, cancel)
	err = b.kwokctl(cctx, set, io.Discard, args...)
	stopWatch()
	if cause := context.Cause(cctx); err != nil && cause != nil && ctx.Err() == nil {
		return cause
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(b.KubeconfigPath(), 0o600); err != nil {
		return fmt.Errorf("restrict kubeconfig: %w", err)
	}
	return b.createNodes(ctx, cmp.Or(opts.Nodes, DefaultNodes))
}

// watch polls Check until the returned stop is called, and cancels ctx
// with Check's error when a component has exited.
func (b *Backend) watch(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := b.Check(ctx); err != nil {
				cancel(err)
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Check implements backend.Backend: every component whose pid file kwokctl
// wrote must still be running.
func (b *Backend) Check(context.Context) error {
	pids, err := filepath.Glob(filepath.Join(b.clusterDir(), "pids", "*.pid"))
	if err != nil {
		return err
	}
	for _, f := range pids {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue // being written or removed
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || pid <= 0 {
			continue
		}
		if proc.Alive(pid) {
			continue
		}
		component := strings.TrimSuffix(filepath.Base(f), ".pid")
		logFile := filepath.Join(b.clusterDir(), "logs", component+".log")
		logs, _ := os.ReadFile(logFile)
		// A component that dies at start says why in its first lines (a bad
		// flag, a taken port), one that dies later in its last ones.
		excerpt := string(logs)
		if len(excerpt) > 4096 {
			excerpt = lastLines(excerpt, 25)
		}
		return fmt.Errorf("%w: %s (pid %d) of kwok cluster %q has exited; its log %s says:\n%s",
			ErrComponentExited, component, pid, b.name, logFile, excerpt)
	}
	return nil
}

// ErrComponentExited means a control-plane process of the cluster is gone.
var ErrComponentExited = errors.New("cluster component exited")

// Ports are the host ports of one kwok cluster's components.
type Ports struct {
	APIServer, Etcd, EtcdPeer, ControllerManager, Scheduler, KwokController int
}

// reservePorts takes the components' ports from the machine-wide registry;
// apiServer, when not 0, is the user's choice for the API server.
func reservePorts(apiServer int) (Ports, error) {
	got, err := ports.New().Reserve(6)
	if err != nil {
		return Ports{}, fmt.Errorf("reserve ports for the cluster: %w", err)
	}
	p := Ports{APIServer: got[0], Etcd: got[1], EtcdPeer: got[2], ControllerManager: got[3], Scheduler: got[4], KwokController: got[5]}
	if apiServer != 0 {
		p.APIServer = apiServer
	}
	return p, nil
}

// Settings are the per-cluster values Config fills into kwokctl.yaml.
type Settings struct {
	Ports Ports
	// Listen, when set, is the API server's bind address instead of the
	// loopback address kwokctl.yaml gives every component.
	Listen string
	// CertSANs are extra names for the API server's certificate (the
	// host's addresses, when it listens beyond loopback).
	CertSANs []string
}

// hostAddresses lists this machine's non-loopback IP addresses.
func hostAddresses() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

// mkdirPrivate creates each directory readable by its owner only: they hold
// cluster certificates, keys and kubeconfigs.
func mkdirPrivate(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// Config renders the kwokctl configuration for this cluster: the
// repository's kwokctl.yaml with the pinned binaries' paths (path maps a
// binary's name to its path) and the settings filled in, followed by every
// Stage under kwok/stages.
func (b *Backend) Config(path func(name string) string, s Settings) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(b.kwokDir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("read kwok config: %w", err)
	}
	var doc map[string]any
	if err := yaml.UnmarshalStrict(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(b.kwokDir, ConfigFile), err)
	}
	if doc["kind"] != "KwokctlConfiguration" {
		return nil, fmt.Errorf("%s: want kind KwokctlConfiguration, got %v", ConfigFile, doc["kind"])
	}
	options, _ := doc["options"].(map[string]any)
	if options == nil {
		options = map[string]any{}
	}
	for field, name := range map[string]string{
		"kubeApiserverBinary":         binaries.KubeAPIServer,
		"kubeControllerManagerBinary": binaries.KubeControllerManager,
		"kubeSchedulerBinary":         binaries.KubeScheduler,
		"kubectlBinary":               binaries.Kubectl,
		"etcdBinary":                  binaries.Etcd,
		"kwokControllerBinary":        binaries.Kwok,
	} {
		options[field] = path(name)
	}
	for field, port := range map[string]int{
		"kubeApiserverPort":         s.Ports.APIServer,
		"etcdPort":                  s.Ports.Etcd,
		"etcdPeerPort":              s.Ports.EtcdPeer,
		"kubeControllerManagerPort": s.Ports.ControllerManager,
		"kubeSchedulerPort":         s.Ports.Scheduler,
		"kwokControllerPort":        s.Ports.KwokController,
	} {
		if port != 0 {
			options[field] = port
		}
	}
	if options["bindAddress"] == nil {
		return nil, fmt.Errorf("%s: options.bindAddress must be set (127.0.0.1 keeps the cluster off the network)", ConfigFile)
	}
	if s.Listen != "" {
		if len(s.CertSANs) > 0 {
			options["kubeApiserverCertSANs"] = s.CertSANs
		}
		patches, _ := doc["componentsPatches"].([]any)
		doc["componentsPatches"] = append(patches, map[string]any{
			"name":      "kube-apiserver",
			"extraArgs": []any{map[string]any{"key": "bind-address", "value": s.Listen, "override": true}},
		})
	}
	doc["options"] = options
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	stages, err := filepath.Glob(filepath.Join(b.kwokDir, StagesDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(stages)
	for _, s := range stages {
		content, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("read stage: %w", err)
		}
		out = append(out, "---\n"...)
		out = append(out, bytes.TrimSpace(content)...)
		out = append(out, '\n')
	}
	return out, nil
}

// createNodes creates n nodes from the node template, named
// <template name>-0 … <template name>-(n-1); existing ones are kept.
func (b *Backend) createNodes(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(b.kwokDir, NodeTemplate))
	if err != nil {
		return fmt.Errorf("read node template: %w", err)
	}
	var tmpl corev1.Node
	if err := yaml.UnmarshalStrict(raw, &tmpl); err != nil {
		return fmt.Errorf("parse node template %s: %w", NodeTemplate, err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.KubeconfigPath())
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for i := range n {
		node := tmpl.DeepCopy()
		node.Name = fmt.Sprintf("%s-%d", tmpl.Name, i)
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		node.Labels[corev1.LabelHostname] = node.Name
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node %s: %w", node.Name, err)
		}
	}
	return nil
}

// Start implements backend.Backend.
func (b *Backend) Start(ctx context.Context) error {
	set, err := b.bins(ctx, binaries.Kwokctl)
	if err != nil {
		return err
	}
	return b.kwokctl(ctx, set, io.Discard, "start", "cluster")
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context) error {
	if ok, err := b.Exists(ctx); err != nil || !ok {
		return err
	}
	set, err := b.bins(ctx, binaries.Kwokctl)
	if err != nil {
		return err
	}
	// The cluster's state goes with it, so its components get no graceful
	// shutdown: killed first, they leave kwokctl only files to remove. On a
	// loaded machine, stopping five components one by one took longer than
	// a stopped test suite has to delete the cluster it made.
	killComponents(b.clusterDir())
	if err := b.kwokctl(ctx, set, io.Discard, "delete", "cluster"); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(b.workdir, "configs", b.name+".yaml"))
	return nil
}

// killComponents sends SIGKILL to each process whose pid kwokctl recorded
// under dir/pids and whose command line still names dir (a pid file may
// outlive its process, and the pid be reused).
func killComponents(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir+string(filepath.Separator))) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// ExportLogs implements backend.Backend.
func (b *Backend) ExportLogs(ctx context.Context, dir string) error {
	set, err := b.bins(ctx, binaries.Kwokctl)
	if err != nil {
		return err
	}
	return b.kwokctl(ctx, set, io.Discard, "export", "logs", dir)
}

func (b *Backend) kwokctl(ctx context.Context, set *binaries.Set, log io.Writer, args ...string) error {
	if log == nil {
		log = io.Discard
	}
	args = append([]string{"--name", b.name}, args...)
	cmd := backend.Command(ctx, set.Path(binaries.Kwokctl), args...)
	// kwokctl runs the first kubectl on PATH for some steps; make that the
	// pinned one, never whatever the machine has.
	cmd.Env = append(backend.Environ(b.cacheDir), "KWOK_WORKDIR="+b.workdir,
		"PATH="+set.Dir()+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(log, &out)
	cmd.Stderr = io.MultiWriter(log, &out)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("kwokctl %s: %w\n%s", strings.Join(args, " "), err, lastLines(out.String(), 15))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var createOpts = metav1.CreateOptions{FieldManager: "kubeworkshop"}

// HostIP implements backend.Backend: kwok's control plane runs on this
// machine, so loopback.
func (b *Backend) HostIP(context.Context) (string, error) { return "127.0.0.1", nil }

// RunsNode implements backend.Backend: kwok plays the kubelet for the nodes
// annotated kwok.x-k8s.io/node=fake (kwok/kwokctl.yaml selects them).
func (b *Backend) RunsNode(n *corev1.Node) bool {
	return n.Annotations[ManagedNodeAnnotation] == "fake"
}

// LoadsImages implements backend.Backend: kwok's nodes are simulated and
// run no container, so an image has nowhere to go.
func (b *Backend) LoadsImages() error {
	return fmt.Errorf("kwok cluster %q simulates its nodes and runs no containers, so there is nowhere to load an image: %w; "+
		"use a kind cluster (CLUSTER_PROVIDER=kind) to run an image in-cluster, or run the program on this machine against the kwok cluster", b.name, backend.ErrUnsupported)
}

// LoadImage implements backend.Backend: see LoadsImages.
func (b *Backend) LoadImage(context.Context, string) error { return b.LoadsImages() }

// ManagedNodeAnnotation marks the nodes kwok's controller manages.
const ManagedNodeAnnotation = "kwok.x-k8s.io/node"
