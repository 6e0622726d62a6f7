package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// KubeconfigEnv names the variable through which the pipeline (go tool mage
// test/e2e) hands every suite the kubeconfig of the shared cluster.
const KubeconfigEnv = "KUBEWORKSHOP_E2E_KUBECONFIG"

// ArtifactsEnv overrides where failure dumps go (default: _artifacts/ at
// the repository root).
const ArtifactsEnv = "KUBEWORKSHOP_ARTIFACTS"

// Suite is one ginkgo e2e suite's shared state.
type Suite struct {
	name   string
	scheme *runtime.Scheme

	kubeconfig string
	cfg        *envconf.Config
	rest       *rest.Config
	client     client.Client
	clientset  kubernetes.Interface

	provider *cluster.Provider // set when this process created the cluster
	created  bool

	mu         sync.Mutex
	namespace  string   // the current spec's namespace
	namespaces []string // namespaces to dump when a spec fails
	noWorkload string   // why the workload image cannot run, once known (RequireWorkload)
}

// Option configures a Suite.
type Option func(*Suite)

// WithScheme gives Suite.Client a scheme with more types (e.g. a CRD's);
// the default is client-go's scheme of built-in types.
func WithScheme(s *runtime.Scheme) Option { return func(su *Suite) { su.scheme = s } }

// NewSuite creates the suite and registers its suite-level ginkgo nodes.
// Call it once, at package level, in a file with the e2e build tag.
func NewSuite(name string, opts ...Option) *Suite {
	s := &Suite{name: name, scheme: clientgoscheme.Scheme}
	for _, o := range opts {
		o(s)
	}
	ginkgo.SynchronizedBeforeSuite(s.acquireCluster, s.connect)
	// gexec.Build (demotest.Build uses it) leaves its binaries in TMPDIR
	// until they are removed; every process removes its own.
	ginkgo.SynchronizedAfterSuite(gexec.CleanupBuildArtifacts, s.releaseCluster)
	ginkgo.BeforeEach(func(ctx ginkgo.SpecContext) {
		ns := s.NewNamespace(ctx, "")
		s.mu.Lock()
		s.namespace = ns
		s.mu.Unlock()
	})
	ginkgo.AfterEach(s.dumpOnFailure)
	return s
}

// Run runs the suite's specs; call it from the package's only Test function.
func (s *Suite) Run(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, s.name)
}

// acquireCluster runs on ginkgo process 1 only and returns the kubeconfig
// path every process connects with.
func (s *Suite) acquireCluster(ctx ginkgo.SpecContext) []byte {
	if path := os.Getenv(KubeconfigEnv); path != "" {
		return []byte(path)
	}
	p, err := cluster.NewFromEnv(cluster.WithLog(ginkgo.GinkgoWriter))
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	created, err := p.Up(ctx)
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), "bring up the %s cluster %q", p.ProviderName(), p.Name())
	s.provider, s.created = p, created
	return []byte(p.KubeconfigPath())
}

func (s *Suite) releaseCluster(ctx ginkgo.SpecContext) {
	if s.created {
		gomega.Expect(s.provider.Down(ctx)).To(gomega.Succeed())
	}
}

func (s *Suite) connect(kubeconfig []byte) {
	s.kubeconfig = string(kubeconfig)
	s.cfg = envconf.New().WithKubeconfigFile(s.kubeconfig)
	rc, err := cluster.RESTConfigFor(s.kubeconfig)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	rc.QPS, rc.Burst = 50, 100
	s.rest = rc
	s.clientset, err = kubernetes.NewForConfig(rc)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	s.client, err = client.New(rc, client.Options{Scheme: s.scheme})
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
}

// Name is the suite's name (also its artifacts folder).
func (s *Suite) Name() string { return s.name }

// Kubeconfig is the path of the shared cluster's kubeconfig.
func (s *Suite) Kubeconfig() string { return s.kubeconfig }

// Config is e2e-framework's configuration for the shared cluster; its
// Client() is a klient.Client for the klient/wait helpers.
func (s *Suite) Config() *envconf.Config { return s.cfg }

// RESTConfig is a copy of the client configuration for the shared cluster.
func (s *Suite) RESTConfig() *rest.Config { return rest.CopyConfig(s.rest) }

// Client is a controller-runtime client for the shared cluster.
func (s *Suite) Client() client.Client { return s.client }

// Clientset is a client-go clientset for the shared cluster.
func (s *Suite) Clientset() kubernetes.Interface { return s.clientset }

// Namespace is the current spec's own namespace.
func (s *Suite) Namespace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.namespace
}

// Kubectl is the path of the pinned kubectl (built if missing).
func (s *Suite) Kubectl() string {
	set, err := binaries.Ensure(context.Background(), binaries.WithOnly(binaries.Kubectl), binaries.WithProgress(ginkgo.GinkgoWriter))
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return set.Path(binaries.Kubectl)
}

var unsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// NewNamespace creates a namespace named after the suite (and prefix, if
// given), deleted by a DeferCleanup when the current node's scope ends:
// after the spec when called from BeforeEach or a spec, after the whole
// container when called from BeforeAll. It is included in failure dumps.
func (s *Suite) NewNamespace(ctx context.Context, prefix string) string {
	base := unsafe.ReplaceAllString(strings.ToLower(s.name+"-"+prefix), "-")
	base = strings.Trim(base, "-")
	if len(base) > 40 {
		base = base[:40]
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: base + "-",
		Labels:       map[string]string{"kubeworkshop.dev/e2e-suite": unsafe.ReplaceAllString(strings.ToLower(s.name), "-")},
	}}
	created, err := s.clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), "create test namespace")
	s.mu.Lock()
	s.namespaces = append(s.namespaces, created.Name)
	s.mu.Unlock()
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) {
		s.mu.Lock()
		for i, n := range s.namespaces {
			if n == created.Name {
				s.namespaces = append(s.namespaces[:i], s.namespaces[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		err := s.clientset.CoreV1().Namespaces().Delete(ctx, created.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			gomega.Expect(err).NotTo(gomega.HaveOccurred(), "delete test namespace %s", created.Name)
		}
	})
	return created.Name
}

// dumpOnFailure writes the state of every live test namespace when the
// spec failed. It runs before the namespaces' DeferCleanups delete them.
func (s *Suite) dumpOnFailure(ctx ginkgo.SpecContext) {
	report := ginkgo.CurrentSpecReport()
	if !report.Failed() {
		return
	}
	dir := filepath.Join(ArtifactsDir(), unsafe.ReplaceAllString(strings.ToLower(s.name), "-"), specSlug(report.FullText()))
	s.mu.Lock()
	namespaces := append([]string(nil), s.namespaces...)
	s.mu.Unlock()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for _, ns := range namespaces {
		if err := Dump(dctx, s.RESTConfig(), ns, filepath.Join(dir, ns)); err != nil {
			fmt.Fprintf(ginkgo.GinkgoWriter, "state dump of namespace %s incomplete: %v\n", ns, err)
		}
	}
	ginkgo.AddReportEntry("state dump", dir)
	fmt.Fprintf(ginkgo.GinkgoWriter, "state of the failed spec's namespaces written to %s\n", dir)
}

func specSlug(text string) string {
	slug := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(text), "-"), "-")
	if len(slug) > 80 {
		slug = slug[:80]
	}
	if slug == "" {
		slug = "spec"
	}
	return slug
}

// ArtifactsDir is where failure dumps go: $KUBEWORKSHOP_ARTIFACTS, else
// _artifacts/ at the repository root, else ./_artifacts.
func ArtifactsDir() string {
	if d := os.Getenv(ArtifactsEnv); d != "" {
		return d
	}
	if root, err := repo.Root(""); err == nil {
		return filepath.Join(root, "_artifacts")
	}
	return "_artifacts"
}
