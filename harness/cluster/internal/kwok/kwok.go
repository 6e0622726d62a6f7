package kwok

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
)

// Files under the repository's kwok/ directory.
const (
	ConfigFile   = "kwokctl.yaml" // KwokctlConfiguration without binary paths
	NodeTemplate = "node.yaml"    // the Node every simulated node is made from
	StagesDir    = "stages"       // Stage objects; they replace kwok's defaults
)

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

// Provider implements backend.Backend.
func (b *Backend) Provider() string { return "kwok" }

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

// Create implements backend.Backend.
func (b *Backend) Create(ctx context.Context, opts backend.CreateOptions) error {
	set, err := b.bins(ctx)
	if err != nil {
		return err
	}
	cfg, err := b.Config(set.Path, opts.APIServerPort)
	if err != nil {
		return err
	}
	genDir := filepath.Join(b.workdir, "configs")
	if err := os.MkdirAll(genDir, 0o755); err != nil {
		return err
	}
	cfgPath := filepath.Join(genDir, b.name+".yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return fmt.Errorf("write kwokctl config: %w", err)
	}
	args := []string{"create", "cluster", "--config", cfgPath}
	if opts.ConfigFile != "" {
		args = append(args, "--config", opts.ConfigFile)
	}
	// kwokctl's own log lines are structured JSON: keep them for the error
	// message rather than flooding the presenter's terminal.
	if err := b.kwokctl(ctx, set, io.Discard, args...); err != nil {
		return err
	}
	return b.createNodes(ctx, opts.Nodes)
}

// Config renders the kwokctl configuration for this cluster: the
// repository's kwokctl.yaml with the pinned binaries' paths (path maps a
// binary's name to its path) filled in, followed by every Stage under
// kwok/stages.
func (b *Backend) Config(path func(name string) string, apiServerPort int) ([]byte, error) {
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
	if apiServerPort != 0 {
		options["kubeApiserverPort"] = apiServerPort
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
	if err := b.kwokctl(ctx, set, io.Discard, "delete", "cluster"); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(b.workdir, "configs", b.name+".yaml"))
	return nil
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
