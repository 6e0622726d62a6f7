package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/existing"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/kind"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/kwok"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Provider names accepted by WithProvider and CLUSTER_PROVIDER.
const (
	Kwok     = "kwok"
	Kind     = "kind"
	Existing = "existing"
)

// Providers lists the valid provider names, the default first.
var Providers = []string{Kwok, Kind, Existing}

// Defaults.
const (
	DefaultProvider    = Kwok
	DefaultName        = "workshop"
	DefaultWaitTimeout = 2 * time.Minute
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrUnknownProvider: the provider name is not one of Providers.
	ErrUnknownProvider = errors.New("unknown cluster provider")
	// ErrInvalidName: the cluster name is not a DNS-1123 label.
	ErrInvalidName = errors.New("invalid cluster name")
	// ErrInvalidOption: another option (port, node count, ...) is invalid.
	ErrInvalidOption = errors.New("invalid cluster option")
	// ErrPortInUse: the requested API server port is already taken.
	ErrPortInUse = errors.New("port already in use")
	// ErrNotReady: the cluster did not become (or is not) healthy.
	ErrNotReady = errors.New("cluster not ready")
	// ErrNoContainerRuntime: kind has no usable Docker/Podman/nerdctl.
	ErrNoContainerRuntime = kind.ErrNoContainerRuntime
	// ErrUnsupported: the provider cannot do the requested operation.
	ErrUnsupported = backend.ErrUnsupported
)

type options struct {
	provider      string
	name          string
	log           io.Writer
	apiServerPort int
	nodes         int
	waitTimeout   time.Duration
	cacheDir      string
	repoDir       string
	kindConfig    string
	kindImage     string
	kubeconfig    string // existing provider
	configFile    string // provider-native extra config (e2e-framework)
	listen        string // API server listen address; "" is loopback
	switchContext bool
}

// Option configures a Provider.
type Option func(*options)

// WithProvider selects the backend: Kwok (default), Kind or Existing.
func WithProvider(name string) Option { return func(o *options) { o.provider = name } }

// WithName sets the cluster name (default "workshop").
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithLog sets where progress is printed (default: nowhere).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithAPIServerPort pins the API server's host port (default 0: any free port).
func WithAPIServerPort(port int) Option { return func(o *options) { o.apiServerPort = port } }

// WithNodes sets how many nodes the cluster gets. 0 (the default) leaves
// it to the provider: kwok makes 3 simulated nodes; kind makes 1 node that
// is control plane and runs pods, and n > 1 adds n-1 workers (unless a kind
// config file, which defines the nodes itself, is given). The existing
// provider ignores it.
func WithNodes(n int) Option { return func(o *options) { o.nodes = n } }

// WithCacheDir sets where binaries and cluster state live (default:
// binaries.CacheRoot()).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithRepoDir sets the repository root holding tools/ and kwok/ (default:
// found by walking up from the working directory).
func WithRepoDir(dir string) Option { return func(o *options) { o.repoDir = dir } }

// WithKindConfig uses a kind config file instead of the workshop's.
func WithKindConfig(path string) Option { return func(o *options) { o.kindConfig = path } }

// WithKindNodeImage overrides kind's node image (default: the workshop's
// own, built offline on first use by harness/kindimage).
func WithKindNodeImage(image string) Option { return func(o *options) { o.kindImage = image } }

// WithKubeconfig sets the kubeconfig of the existing provider (default:
// KUBECONFIG, then ~/.kube/config).
func WithKubeconfig(path string) Option { return func(o *options) { o.kubeconfig = path } }

// WithListen makes the API server listen on addr (for example 0.0.0.0, so
// that an audience's machines can reach it) instead of loopback only.
// Every other component, etcd above all, stays on loopback.
func WithListen(addr string) Option { return func(o *options) { o.listen = addr } }

// WithSwitchContext controls whether Up adds the cluster's context to the
// default kubeconfig and makes it current, as kind and kwokctl do
// (default true).
func WithSwitchContext(on bool) Option { return func(o *options) { o.switchContext = on } }

// Env is the environment NewFromEnv reads: CLUSTER_PROVIDER, CLUSTER_NAME,
// CLUSTER_API_PORT, CLUSTER_NODES, CLUSTER_LISTEN, KIND_CONFIG,
// KIND_NODE_IMAGE, KUBECONFIG.
func Env(getenv func(string) string) ([]Option, error) {
	var opts []Option
	if v := getenv("CLUSTER_PROVIDER"); v != "" {
		opts = append(opts, WithProvider(v))
	}
	if v := getenv("CLUSTER_NAME"); v != "" {
		opts = append(opts, WithName(v))
	}
	for _, e := range []struct {
		name string
		set  func(int) Option
	}{{"CLUSTER_API_PORT", WithAPIServerPort}, {"CLUSTER_NODES", WithNodes}} {
		if v := getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s=%q is not a number", ErrInvalidOption, e.name, v)
			}
			if e.name == "CLUSTER_NODES" && n == 0 {
				return nil, fmt.Errorf("%w: CLUSTER_NODES=0: a cluster needs at least 1 node (unset it for the provider's default)", ErrInvalidOption)
			}
			opts = append(opts, e.set(n))
		}
	}
	if v := getenv("CLUSTER_LISTEN"); v != "" {
		opts = append(opts, WithListen(v))
	}
	if v := getenv("KIND_CONFIG"); v != "" {
		opts = append(opts, WithKindConfig(v))
	}
	if v := getenv("KIND_NODE_IMAGE"); v != "" {
		opts = append(opts, WithKindNodeImage(v))
	}
	if v := getenv("KUBECONFIG"); v != "" {
		opts = append(opts, WithKubeconfig(v))
	}
	return opts, nil
}

// NewFromEnv is New with the options read from the environment (see Env),
// followed by opts.
func NewFromEnv(opts ...Option) (*Provider, error) {
	envOpts, err := Env(os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(append(envOpts, opts...)...)
}

// Provider gives access to one named cluster of one provider.
type Provider struct {
	o options
	b backend.Backend
	// err is an option error found by an e2e-framework With* method, which
	// cannot return one; Create reports it.
	err error
}

// New validates the options and returns a Provider. Nothing is created
// until Up.
func New(opts ...Option) (*Provider, error) {
	o := options{provider: DefaultProvider, name: DefaultName, log: io.Discard,
		waitTimeout: DefaultWaitTimeout, switchContext: true}
	for _, opt := range opts {
		opt(&o)
	}
	p := &Provider{o: o}
	if err := p.init(); err != nil {
		return nil, err
	}
	return p, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks a cluster name: lower-case letters, digits and '-',
// starting and ending with a letter or digit, at most 40 characters (kind
// derives container and network names from it).
func ValidateName(name string) error {
	if len(name) > 40 || !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use lower-case letters, digits and '-', start and end with a letter or digit, at most 40 characters (e.g. CLUSTER_NAME=workshop)", ErrInvalidName, name)
	}
	return nil
}

func (p *Provider) init() error {
	o := &p.o
	if err := ValidateName(o.name); err != nil {
		return err
	}
	if o.apiServerPort < 0 || o.apiServerPort > 65535 {
		return fmt.Errorf("%w: API server port %d is outside 0–65535 (CLUSTER_API_PORT)", ErrInvalidOption, o.apiServerPort)
	}
	if o.nodes < 0 || o.nodes > 1000 {
		return fmt.Errorf("%w: %d nodes is outside 1–1000 (CLUSTER_NODES; unset means the provider's default)", ErrInvalidOption, o.nodes)
	}
	if o.cacheDir == "" {
		root, err := binaries.CacheRoot()
		if err != nil {
			return err
		}
		o.cacheDir = root
	}
	newBackend, ok := backends[o.provider]
	if !ok {
		return fmt.Errorf("%w %q (CLUSTER_PROVIDER): valid providers are %s", ErrUnknownProvider, o.provider, strings.Join(Providers, ", "))
	}
	b, err := newBackend(o)
	if err != nil {
		return fmt.Errorf("%s provider: %w", o.provider, err)
	}
	p.b = b
	return nil
}

// backends makes each provider's backend from the options.
var backends = map[string]func(o *options) (backend.Backend, error){
	Kwok: func(o *options) (backend.Backend, error) {
		if o.repoDir == "" {
			root, err := repo.Root("")
			if err != nil {
				return nil, err
			}
			o.repoDir = root
		}
		bins := func(ctx context.Context, only ...string) (*binaries.Set, error) {
			return binaries.Ensure(ctx, binaries.WithToolsDir(filepath.Join(o.repoDir, "tools")),
				binaries.WithCacheDir(o.cacheDir), binaries.WithProgress(o.log), binaries.WithOnly(only...))
		}
		return kwok.New(o.name, o.cacheDir, filepath.Join(o.repoDir, "kwok"), bins), nil
	},
	Kind: func(o *options) (backend.Backend, error) {
		return kind.New(o.name, o.cacheDir, o.kindConfig, o.kindImage), nil
	},
	Existing: func(o *options) (backend.Backend, error) { return existing.New(o.kubeconfig), nil },
}

// Name is the cluster name.
func (p *Provider) Name() string { return p.o.name }

// ProviderName is the backend's name: kwok, kind or existing.
func (p *Provider) ProviderName() string { return p.o.provider }

// KubeconfigPath is the cluster's standalone kubeconfig: a stable path
// under the cache directory for kwok and kind, KUBECONFIG for existing.
func (p *Provider) KubeconfigPath() string { return p.b.KubeconfigPath() }

// ErrNoCluster means the named cluster has not been created.
var ErrNoCluster = errors.New("cluster does not exist")

// RequireExisting fails with ErrNoCluster, saying how to create it, unless
// the cluster exists: for commands that only make sense on a cluster
// someone brought up already.
func (p *Provider) RequireExisting(ctx context.Context) error {
	if p.err != nil {
		return p.err
	}
	exists, err := p.b.Exists(ctx)
	if err != nil {
		return fmt.Errorf("%s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	if !exists {
		return fmt.Errorf("%w: %s cluster %q; create it with `CLUSTER_NAME=%s go tool mage cluster:up`", ErrNoCluster, p.o.provider, p.o.name, p.o.name)
	}
	return nil
}

// RESTConfig loads a client configuration for the cluster.
func (p *Provider) RESTConfig() (*rest.Config, error) { return restConfig(p.KubeconfigPath()) }

func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}

func (p *Provider) logf(format string, args ...any) { fmt.Fprintf(p.o.log, format+"\n", args...) }

// Up makes sure the cluster exists and is healthy. A healthy cluster of the
// same name is reused; a stopped one is restarted; otherwise a new one is
// created and Up waits until its nodes are Ready. created reports whether
// this call created the cluster. If creation fails or ctx is cancelled
// (Ctrl-C), whatever was started is deleted again.
func (p *Provider) Up(ctx context.Context) (created bool, err error) {
	if p.err != nil {
		return false, p.err
	}
	start := time.Now()
	exists, err := p.b.Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("%s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	if exists {
		return false, p.reuse(ctx, start)
	}
	if err := checkPortFree(p.o.apiServerPort); err != nil {
		return false, err
	}
	p.logf("creating %s cluster %q ...", p.o.provider, p.o.name)
	if err := p.b.Prepare(ctx); err != nil {
		return false, fmt.Errorf("create %s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	err = p.createAndWait(ctx)
	if err != nil {
		if ctx.Err() == nil {
			// Keep the control plane's logs: deleting the cluster removes them.
			dir := filepath.Join(p.o.cacheDir, "failed", p.o.provider+"-"+p.o.name+"-"+time.Now().Format("20060102-150405"))
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			if lerr := p.b.ExportLogs(lctx, dir); lerr == nil {
				err = fmt.Errorf("%w (control-plane logs saved in %s)", err, dir)
			}
			cancel()
		}
		cctx, cancel := backend.Cleanup(ctx)
		defer cancel()
		if derr := p.b.Delete(cctx); derr != nil {
			err = errors.Join(err, fmt.Errorf("clean up half-created cluster: %w", derr))
		}
		return false, fmt.Errorf("create %s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	if err := p.useContext(); err != nil {
		return true, err
	}
	p.logf("%s cluster %q is ready in %s; kubeconfig: %s", p.o.provider, p.o.name, time.Since(start).Round(100*time.Millisecond), p.KubeconfigPath())
	return true, nil
}

// createAndWait creates the cluster and waits until it is healthy, both
// within one deadline: the wait timeout, plus the backend's allowance for
// slow creation. A control plane that never comes up must not hang the
// caller, and one whose component dies fails at once (Backend.Check).
func (p *Provider) createAndWait(ctx context.Context) error {
	timeout := p.o.waitTimeout + p.b.CreateAllowance()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if p.o.listen != "" {
		p.logf("WARNING: CLUSTER_LISTEN=%s: the API server of cluster %q will accept connections from the network on %s; etcd and every other component stay on loopback", p.o.listen, p.o.name, p.o.listen)
	}
	err := p.b.Create(dctx, backend.CreateOptions{ConfigFile: p.o.configFile, APIServerPort: p.o.apiServerPort, Nodes: p.o.nodes, Log: p.o.log, Listen: p.o.listen})
	if err == nil {
		err = p.waitReady(dctx, timeout)
	}
	if err != nil && ctx.Err() == nil && dctx.Err() != nil {
		return fmt.Errorf("%w: the cluster was not ready within %s: %w", ErrNotReady, timeout, err)
	}
	return err
}

func (p *Provider) reuse(ctx context.Context, start time.Time) error {
	h, err := p.checkHealth(ctx, p.KubeconfigPath())
	if err != nil && !p.b.Managed() && starting(err) {
		// A cluster made a moment ago by someone else (`kind create cluster`
		// returns before its node is Ready and the default ServiceAccount
		// exists) is given the time a cluster of ours would get.
		p.logf("%s cluster %q is still starting (%v); waiting up to %s ...", p.o.provider, p.o.name, err, p.o.waitTimeout)
		if err = p.waitReady(ctx, p.o.waitTimeout); err == nil {
			h, err = p.checkHealth(ctx, p.KubeconfigPath())
		}
	}
	if err != nil && p.b.Managed() {
		p.logf("%s cluster %q exists but is not healthy (%v); restarting it ...", p.o.provider, p.o.name, err)
		if serr := p.b.Start(ctx); serr != nil {
			err = errors.Join(err, serr)
		} else if err = p.waitReady(ctx, 30*time.Second); err == nil {
			h, err = p.checkHealth(ctx, p.KubeconfigPath())
		}
	}
	if err != nil {
		hint := "run `go tool mage cluster:down` and then `go tool mage cluster:up`"
		if !p.b.Managed() {
			hint = "check that the cluster in KUBECONFIG is running and reachable"
		}
		return fmt.Errorf("%s cluster %q: %w; %s", p.o.provider, p.o.name, err, hint)
	}
	if p.b.Managed() {
		if err := p.useContext(); err != nil {
			return err
		}
	}
	if h.Server != "" {
		p.logf("reusing %s cluster %q at %s (%d/%d nodes Ready, %s)", p.o.provider, p.o.name, h.Server, h.ReadyNodes, h.Nodes, time.Since(start).Round(time.Millisecond))
	} else {
		p.logf("reusing %s cluster %q (%s)", p.o.provider, p.o.name, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Down deletes the cluster and removes its context from the default
// kubeconfig. Deleting a cluster that does not exist is not an error; the
// existing provider never deletes anything.
func (p *Provider) Down(ctx context.Context) error {
	if p.err != nil {
		// An e2e-framework With* call left the Provider invalid: never
		// delete the cluster it pointed at before.
		return p.err
	}
	if !p.b.Managed() {
		p.logf("%s provider: leaving the cluster in %s alone", p.o.provider, p.KubeconfigPath())
		return nil
	}
	exists, err := p.b.Exists(ctx)
	if err != nil {
		return fmt.Errorf("%s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	if !exists {
		p.logf("%s cluster %q does not exist; nothing to delete", p.o.provider, p.o.name)
		return nil
	}
	names := contextNames(p.KubeconfigPath())
	if err := p.b.Delete(ctx); err != nil {
		return fmt.Errorf("delete %s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	if err := forgetContexts(names, p.o.cacheDir); err != nil {
		return err
	}
	p.logf("deleted %s cluster %q", p.o.provider, p.o.name)
	return nil
}

// IsKindNode reports whether kind made node n: it carries kind's provider
// ID, kind://ENGINE/CLUSTER/NODE, whether or not the harness created the
// cluster.
func IsKindNode(n *corev1.Node) bool {
	_, ok := kind.ParseProviderID(n.Spec.ProviderID)
	return ok
}

// HostIP is the address of this machine that the cluster's nodes and API
// server reach it on: loopback for kwok, the kind network's gateway for
// kind. A process on this machine that the API server must call (demo 05's
// node agent serving logs) listens and advertises there.
func (p *Provider) HostIP(ctx context.Context) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	return p.b.HostIP(ctx)
}

// LoadsImages is nil when LoadImage can put a local image into every node
// of the cluster (kind); otherwise it wraps ErrUnsupported and says why
// and what to do instead (kwok runs no containers; an existing cluster's
// nodes are out of reach). Ask before building an image.
func (p *Provider) LoadsImages() error { return p.b.LoadsImages() }

// Binaries names the pinned binaries (harness/binaries) the provider runs on
// this machine; a kwok cluster's control plane, nothing for kind or an
// existing cluster.
func (p *Provider) Binaries() []string { return p.b.Binaries() }

// LoadImage loads an image tarball (docker-archive or OCI layout) into the
// container runtime of every node, so pods use its names without a
// registry; with an imagePullPolicy of IfNotPresent or Never nothing is
// pulled. It fails like LoadsImages where that does.
func (p *Provider) LoadImage(ctx context.Context, archive string) error {
	if err := p.b.LoadsImages(); err != nil {
		return err
	}
	if err := p.b.LoadImage(ctx, archive); err != nil {
		return fmt.Errorf("%s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	return nil
}

// ExportLogs writes the control plane's logs under dir, where the provider
// has them.
func (p *Provider) ExportLogs(ctx context.Context, dir string) error { return p.b.ExportLogs(ctx, dir) }

func checkPortFree(port int) error {
	if port == 0 {
		return nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("%w: API server port %d: %v; free it or pick another with CLUSTER_API_PORT (0 picks a free port)", ErrPortInUse, port, err)
	}
	return l.Close()
}

// RESTConfigFor loads a client configuration from a kubeconfig path (or a
// KUBECONFIG-style list of paths).
func RESTConfigFor(kubeconfig string) (*rest.Config, error) { return restConfig(kubeconfig) }

// DetectContainerRuntime names the container engine kind would use
// (docker, podman or nerdctl), or fails with ErrNoContainerRuntime saying
// why none is usable.
func DetectContainerRuntime(ctx context.Context) (string, error) {
	rt, err := kind.DetectRuntime(ctx, exec.LookPath, kind.RealExec)
	return rt.Name, err
}

// UpForRun brings the cluster up for one run (a test run, a benchmark) and
// returns release, which deletes the cluster only if this call created it.
// The deletion starts as soon as ctx is cancelled (Ctrl-C), with a short
// deadline that fits mage's 5-second grace period, rather than after the
// run's processes have wound down; release waits for it and returns its
// error. Call release exactly once, typically deferred.
func (p *Provider) UpForRun(ctx context.Context) (release func() error, err error) {
	created, err := p.Up(ctx)
	if err != nil {
		return nil, err
	}
	if !created {
		return func() error { return nil }, nil
	}
	var (
		once    sync.Once
		downErr error // read only after once.Do has returned
	)
	down := func() {
		p.logf("deleting the %s cluster %q this run created", p.o.provider, p.o.name)
		dctx, cancel := backend.Cleanup(ctx)
		defer cancel()
		downErr = p.Down(dctx)
	}
	stop := context.AfterFunc(ctx, func() { once.Do(down) })
	return func() error {
		stop()
		once.Do(down)
		return downErr
	}, nil
}
