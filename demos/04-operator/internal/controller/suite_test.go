package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

// The envtest suite runs the reconciler in a manager against a real
// kube-apiserver and etcd (the project's pinned builds, no download) with the
// generated CRDs installed. There is no scheduler, kubelet or garbage
// collector: specs play the kubelet by marking Pods Ready themselves.

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client // talks to the API server directly, no cache
	scheme    = runtime.NewScheme()
)

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
	assets, err := envtestAssets(ctx)
	Expect(err).NotTo(HaveOccurred())

	By("starting kube-apiserver and etcd with the generated CRDs")
	// START envtest OMIT
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
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

	By("starting the manager with the PodSet reconciler")
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Cache:   CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	Expect(err).NotTo(HaveOccurred())
	r := &PodSetReconciler{
		Client:       mgr.GetClient(),
		Recorder:     mgr.GetEventRecorder("podset-operator"),
		expectations: newExpectations(5 * time.Second),
	}
	Expect(r.SetupWithManager(mgr, 4)).To(Succeed())

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

// envtestAssets returns a directory with kube-apiserver and etcd for
// envtest: the pinned builds from harness/binaries, built into the per-user
// cache on first use (`go tool mage tools` does that ahead of time). An
// explicitly set KUBEBUILDER_ASSETS wins, for trying other versions.
func envtestAssets(ctx context.Context) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	set, err := binaries.Ensure(ctx,
		binaries.WithOnly(binaries.KubeAPIServer, binaries.Etcd),
		binaries.WithProgress(GinkgoWriter))
	if err != nil {
		return "", err
	}
	return set.Dir(), nil
}
