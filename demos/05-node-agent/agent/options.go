package agent

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
)

// Agent is a node agent: a kubelet for WebAssembly pods.
type Agent struct {
	rt        *deps
	nodeName  string
	port      int
	moduleDir string
	rootDir   string
	maxPods   int
	log       logr.Logger

	mu      sync.Mutex
	workers map[string]*podWorker // by pod UID
	pods    map[string]string     // namespace/name → UID, for the log server
}

// New creates an agent that talks to the API server through cs.
func New(cs kubernetes.Interface, opts ...Option) *Agent {
	a := newAgent()
	a.rt.cs = cs
	for _, o := range opts {
		o(a)
	}
	a.defaults()
	return a
}

// Option configures an Agent.
type Option func(*Agent)

// WithNodeName names the Node (default: the host name).
func WithNodeName(name string) Option { return func(a *Agent) { a.nodeName = name } }

// WithNodeIP is the address the node advertises and serves logs on
// (default 127.0.0.1: on kwok the API server runs on this host).
func WithNodeIP(ip string) Option { return func(a *Agent) { a.rt.hostIP = ip } }

// WithPort is the daemon port for `kubectl logs` (default 10250, the kubelet's).
func WithPort(port int) Option { return func(a *Agent) { a.port = port } }

// WithModuleDir is the module store (default demos/05-node-agent/modules/store).
func WithModuleDir(dir string) Option { return func(a *Agent) { a.moduleDir = dir } }

// WithRootDir holds logs, emptyDir volumes and the compilation cache
// (default: $TMPDIR/nodeagent-<node name>).
func WithRootDir(dir string) Option { return func(a *Agent) { a.rootDir = dir } }

// WithMaxPods is the node's pod capacity (default 110, the kubelet's).
func WithMaxPods(n int) Option { return func(a *Agent) { a.maxPods = n } }

// WithBackoff sets the restart and image back-off (default 10 s doubling to
// 5 min, the kubelet's).
func WithBackoff(initial, max time.Duration) Option {
	return func(a *Agent) { a.rt.backoff = Backoff{Initial: initial, Max: max} }
}

// WithDefaultMemoryLimit caps the linear memory of a module whose
// container sets no memory limit (default 128 MiB).
func WithDefaultMemoryLimit(bytes uint64) Option {
	return func(a *Agent) { a.rt.defaultMemory = bytes }
}

// WithLogger sets the agent's logger (default: discard).
func WithLogger(l logr.Logger) Option { return func(a *Agent) { a.log = l } }

func (a *Agent) defaults() {
	if a.nodeName == "" {
		a.nodeName, _ = os.Hostname()
	}
	if a.rootDir == "" {
		a.rootDir = filepath.Join(os.TempDir(), "nodeagent-"+a.nodeName)
	}
	a.rt.volumeRoot = filepath.Join(a.rootDir, "volumes")
	a.rt.logs = NewLogs(filepath.Join(a.rootDir, "logs"))
}

// DefaultModuleDir is the module store the mage target fills, relative to the repository root.
const DefaultModuleDir = "demos/05-node-agent/modules/store"

func newAgent() *Agent {
	return &Agent{
		rt:        &deps{hostIP: "127.0.0.1", backoff: defaultBackoff, defaultMemory: 128 << 20},
		port:      10250,
		moduleDir: DefaultModuleDir,
		maxPods:   110,
		log:       logr.Discard(),
		workers:   map[string]*podWorker{},
		pods:      map[string]string{},
	}
}

// defaultBackoff is the kubelet's: 10 s, doubling up to 5 minutes.
var defaultBackoff = Backoff{Initial: 10 * time.Second, Max: 5 * time.Minute}
