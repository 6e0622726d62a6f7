package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Default timeouts. Every request a demo makes is bounded by RequestTimeout, except
// watches, which run until cancelled (see WatchConfig).
const (
	RequestTimeout = 30 * time.Second
	ConnectTimeout = 5 * time.Second
)

// ClusterUpHint is appended to connection errors so a learner knows how to get a cluster.
const ClusterUpHint = "start the workshop cluster with `go tool mage cluster:up`, or point --kubeconfig/--context at a running one"

// KubeFlags are the connection flags every demo shares, named as kubectl names them.
type KubeFlags struct {
	Kubeconfig    string
	Context       string
	Namespace     string
	AllNamespaces bool

	withAllNamespaces bool
}

// AddFlags registers --kubeconfig, --context and -n/--namespace on fs, plus
// -A/--all-namespaces when allNamespaces is true.
func (f *KubeFlags) AddFlags(fs *pflag.FlagSet, allNamespaces bool) {
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&f.Context, "context", "", "kubeconfig context to use (default: the current context)")
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "namespace to use (default: the context's namespace)")
	if allNamespaces {
		f.withAllNamespaces = true
		fs.BoolVarP(&f.AllNamespaces, "all-namespaces", "A", false, "act on every namespace")
	}
}

// Validate rejects contradictory flag combinations.
func (f *KubeFlags) Validate() error {
	if f.AllNamespaces && f.Namespace != "" {
		return Usagef("--namespace and --all-namespaces cannot be used together")
	}
	return nil
}

// Kube is a loaded connection: a REST config and the namespace the flags resolved to.
type Kube struct {
	// Config has Timeout set to RequestTimeout; use WatchConfig for long-running watches.
	Config *rest.Config
	// Namespace is the namespace from -n, else the context's namespace, else "default".
	Namespace string
	// AllNamespaces mirrors -A.
	AllNamespaces bool
}

// ListNamespace returns the namespace to list in: "" (all) with -A, Namespace otherwise.
func (k *Kube) ListNamespace() string {
	if k.AllNamespaces {
		return ""
	}
	return k.Namespace
}

// WatchConfig returns a copy of Config without the per-request timeout, for watches.
func (k *Kube) WatchConfig() *rest.Config {
	c := rest.CopyConfig(k.Config)
	c.Timeout = 0
	return c
}

// Load resolves the kubeconfig (honouring --kubeconfig, KUBECONFIG and --context) into a
// REST config with bounded timeouts. It does not contact the server; call CheckReachable.
func (f *KubeFlags) Load() (*Kube, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.Context}
	if f.Namespace != "" {
		overrides.Context.Namespace = f.Namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, fmt.Errorf("no kubeconfig found (looked at --kubeconfig, $KUBECONFIG and ~/.kube/config): %s", ClusterUpHint)
		}
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	cfg.Timeout = RequestTimeout
	// Client-side rate limiting would dominate large paged lists; the defaults (5 QPS) are
	// meant for controllers, not for a CLI doing a handful of sequential calls.
	cfg.QPS, cfg.Burst = 50, 100
	return &Kube{Config: cfg, Namespace: ns, AllNamespaces: f.AllNamespaces}, nil
}

// CheckReachable asks the server for /version with a short deadline, so a stopped cluster
// is reported within ConnectTimeout and names the server that was tried.
func CheckReachable(ctx context.Context, cfg *rest.Config) error {
	c := rest.CopyConfig(cfg)
	c.Timeout = ConnectTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return fmt.Errorf("building a client for %s: %w", cfg.Host, err)
	}
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	_, err = dc.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		switch status.Status().Code {
		case 401:
			return fmt.Errorf("the API server at %s rejected our credentials (check the kubeconfig's user): %w", cfg.Host, err)
		default:
			// The server answered; later requests will report anything that matters.
			return nil
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("interrupted while connecting to the API server at %s: %w", cfg.Host, ctx.Err())
	}
	return fmt.Errorf("cannot reach the Kubernetes API server at %s within %s: %w; %s", cfg.Host, ConnectTimeout, err, ClusterUpHint)
}

// Connect is Load followed by CheckReachable.
func (f *KubeFlags) Connect(ctx context.Context) (*Kube, error) {
	k, err := f.Load()
	if err != nil {
		return nil, err
	}
	if err := CheckReachable(ctx, k.Config); err != nil {
		return nil, err
	}
	return k, nil
}
