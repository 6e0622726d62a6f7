package controller

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/internal/testenv"
)

// The envtest suite runs the reconciler in a manager against a real
// kube-apiserver and etcd (the project's pinned builds, no download) with the
// generated CRDs installed. There is no scheduler, kubelet or garbage
// collector: specs play the kubelet by marking Pods Ready themselves, and a
// deleted PodSet's Pods stay (on a real cluster the garbage collector
// deletes them).

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client // talks to the API server directly, no cache
	scheme    = runtime.NewScheme()
	// lagging is the reconciler's client; specs can freeze its view of the
	// Pods in a namespace to play a cache that lags behind.
	lagging *laggingClient
	// reconciler is the reconciler under test.
	reconciler *PodSetReconciler
)

// recordNamespace holds the PodSets' records in the suite.
const recordNamespace = "podset-records"

func TestEnvtest(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "PodSet controller (envtest)")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	SetDefaultConsistentlyDuration(time.Second)

	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(workshopv1alpha1.AddToScheme(scheme)).To(Succeed())

	By("locating the pinned kube-apiserver and etcd")
	assets, err := testenv.Assets(ctx, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())

	By("starting kube-apiserver and etcd with the generated CRDs")
	// START envtest OMIT
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	testenv.Loopback(testEnv) // bind and advertise 127.0.0.1: works offline
	cfg, err = testEnv.Start()
	// END envtest OMIT
	// Stop even when Start failed half-way (say, a CRD was rejected): the
	// control plane may already run and must not outlive the test.
	DeferCleanup(func() {
		By("stopping kube-apiserver and etcd")
		Expect(testEnv.Stop()).To(Succeed())
	})
	Expect(err).NotTo(HaveOccurred())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("creating the namespace of the PodSet records")
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: recordNamespace}})).To(Succeed())

	By("starting the manager with the PodSet reconciler")
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Cache:   CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	Expect(err).NotTo(HaveOccurred())
	lagging = &laggingClient{Client: mgr.GetClient(), frozen: map[string][]corev1.Pod{}}
	reconciler = &PodSetReconciler{
		Client:          lagging,
		Recorder:        mgr.GetEventRecorder("podset-operator"),
		RecordNamespace: recordNamespace,
		// Short, so that a pod a spec deletes before the cache listed it
		// delays the PodSet by seconds, not the default 30.
		expectations: newExpectations(5 * time.Second),
	}
	Expect(reconciler.SetupWithManager(mgr, 4)).To(Succeed())

	mgrCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	DeferCleanup(func() {
		By("stopping the manager")
		cancel()
		Eventually(done).Should(BeClosed())
	})
}, NodeTimeout(5*time.Minute))

// laggingClient is the manager's client, except that List of Pods in a frozen
// namespace returns the Pods the cache held when the namespace was frozen:
// a cache that has not caught up with the operator's own writes.
type laggingClient struct {
	client.Client
	mu     sync.Mutex
	frozen map[string][]corev1.Pod // namespace -> snapshot
	reads  map[string]int          // namespace -> stale Lists served
}

// freeze takes the snapshot of ns's Pods that List returns from now on.
func (c *laggingClient) freeze(ctx context.Context, ns string) {
	GinkgoHelper()
	var list corev1.PodList
	Expect(c.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen[ns] = list.Items
	if c.reads == nil {
		c.reads = map[string]int{}
	}
	c.reads[ns] = 0
}

// thaw lets List read ns from the cache again.
func (c *laggingClient) thaw(ns string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.frozen, ns)
}

// staleReads is the number of Lists served from ns's snapshot.
func (c *laggingClient) staleReads(ns string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[ns]
}

// List implements client.Reader.
func (c *laggingClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	pods, ok := list.(*corev1.PodList)
	if !ok {
		return c.Client.List(ctx, list, opts...)
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	c.mu.Lock()
	snapshot, frozen := c.frozen[o.Namespace]
	if frozen {
		c.reads[o.Namespace]++
	}
	c.mu.Unlock()
	if !frozen {
		return c.Client.List(ctx, list, opts...)
	}
	pods.Items = nil
	for _, p := range snapshot {
		if o.LabelSelector == nil || o.LabelSelector.Matches(labels.Set(p.Labels)) {
			pods.Items = append(pods.Items, *p.DeepCopy())
		}
	}
	return nil
}
