package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

const usage = `node-agent joins the cluster as a Node and runs the pods bound to it as
WebAssembly (WASI) modules, like a kubelet whose container runtime is wazero.

Usage:
  node-agent [flags]

A pod reaches this node when it selects kubernetes.io/arch=wasm and tolerates
the taint kubernetes.io/arch=wasm:NoSchedule; its image names a module in
--module-dir (fill it with ` + "`go tool mage nodeAgent:modules`" + `).`

// Exec is the agent's command line: flags named like the kubelet's where
// they overlap. It runs until ctx ends (SIGTERM, Ctrl-C).
func Exec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("node-agent", usage, stderr)
	var (
		kubeconfig, nodeName, nodeIP, moduleDir, rootDir string
		port, maxPods, verbosity                         int
		backoff, backoffMax                              = defaultBackoff.Initial, defaultBackoff.Max
		memory                                           = "128Mi"
		qps                                              float32
		burst                                            int
	)
	fs.StringVar(&kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&nodeName, "node-name", "", "name of the Node to register (default: the host name)")
	fs.StringVar(&nodeIP, "node-ip", "127.0.0.1", "address the node advertises and serves logs on")
	fs.IntVar(&port, "port", 10250, "daemon port for the kubelet API (container logs)")
	fs.StringVar(&moduleDir, "module-dir", DefaultModuleDir, "the module store: one <image>.wasm per module")
	fs.StringVar(&rootDir, "root-dir", "", "directory for logs, emptyDir volumes and compiled code (default: $TMPDIR/nodeagent-<node name>)")
	fs.IntVar(&maxPods, "max-pods", 110, "pods the node offers (capacity)")
	fs.DurationVar(&backoff, "crash-loop-backoff", backoff, "first restart back-off (doubles per restart)")
	fs.DurationVar(&backoffMax, "crash-loop-backoff-max", backoffMax, "longest restart back-off")
	fs.StringVar(&memory, "default-memory-limit", memory, "linear memory cap of a module whose container sets no memory limit")
	fs.Float32Var(&qps, "kube-api-qps", 50, "requests per second to the API server")
	fs.IntVar(&burst, "kube-api-burst", 100, "burst of requests to the API server")
	fs.IntVarP(&verbosity, "v", "v", 0, "log verbosity (1: every state transition)")
	if err := cli.Parse(fs, args); err != nil {
		if errors.Is(err, cli.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q", fs.Args())
	}
	mem, err := resource.ParseQuantity(memory)
	if err != nil || mem.Value() <= 0 {
		return cli.Usagef("--default-memory-limit %q is not a positive quantity such as 64Mi", memory)
	}
	if net.ParseIP(nodeIP) == nil {
		return cli.Usagef("--node-ip %q is not an IP address", nodeIP)
	}
	if port <= 0 || port > 65535 || maxPods <= 0 || backoff <= 0 || backoffMax < backoff {
		return cli.Usagef("--port, --max-pods and the back-offs must be positive (and --crash-loop-backoff-max at least --crash-loop-backoff)")
	}

	log := logr.FromSlogHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: slog.Level(-verbosity),
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if lvl, ok := a.Value.Any().(slog.Level); ok && a.Key == slog.LevelKey && lvl < slog.LevelInfo {
				a.Value = slog.StringValue(fmt.Sprintf("V%d", -lvl)) // logr's V(n) is slog level -n
			}
			return a
		},
	}))
	klog.SetLogger(log.WithName("client-go"))
	kf := cli.KubeFlags{Kubeconfig: kubeconfig}
	kube, err := kf.Load()
	if err != nil {
		return err
	}
	if err := cli.CheckReachable(ctx, kube.Config); err != nil {
		return err
	}
	cfg := kube.WatchConfig()
	cfg.QPS, cfg.Burst = qps, burst
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create a clientset: %w", err)
	}
	a := New(cs,
		WithNodeName(nodeName), WithNodeIP(nodeIP), WithPort(port),
		WithModuleDir(moduleDir), WithRootDir(rootDir), WithMaxPods(maxPods),
		WithBackoff(backoff, backoffMax), WithDefaultMemoryLimit(uint64(mem.Value())),
		WithLogger(log))
	return a.Run(ctx)
}
