// Command podset-operator runs the PodSet operator of the kubeworkshop: a
// controller-runtime manager with one controller that keeps the Pods of every
// PodSet (workshop.example.com/v1alpha1) at spec.replicas.
//
// Run it against the current cluster with `go tool mage operator:run` after
// `go tool mage operator:install`, or directly:
//
//	go run ./demos/04-operator/cmd --kubeconfig "$KUBECONFIG"
//
// Metrics and probes listen on loopback by default. In a cluster
// (config/manager) metrics are served over HTTPS to callers whose token may
// GET /metrics (--metrics-secure); serving them unauthenticated on any other
// address than loopback is refused.
//
// Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime
// error (including missing CRDs), 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/internal/controller"
)

// leaderElectionID names the Lease the replicas compete for.
const leaderElectionID = "podset-operator.workshop.example.com"

// inClusterNamespaceFile exists only inside a Pod with a ServiceAccount.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// errUsage marks errors caused by the command line.
var errUsage = errors.New("usage error")

type options struct {
	metricsAddr          string
	metricsSecure        bool
	probeAddr            string
	leaderElect          bool
	leaderElectNamespace string
	leaseDuration        time.Duration
	renewDeadline        time.Duration
	retryPeriod          time.Duration
	qps                  float64
	burst                int
	maxConcurrent        int
	recordNamespace      string
	zap                  zap.Options
}

func main() {
	os.Exit(run(ctrl.SetupSignalHandler(), os.Args[1:], os.Stderr))
}

// run is main without os.Exit: it runs until ctx ends and returns the exit
// status.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "podset-operator: %v\n", err)
		return 2
	}
	logger := zap.New(zap.UseFlagOptions(&opts.zap))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger) // client-go (leader election, ...) logs through zap too

	if err := runManager(ctx, opts); err != nil {
		fmt.Fprintf(stderr, "podset-operator: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("podset-operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "127.0.0.1:8080",
		`address of the metrics endpoint, e.g. ":8443" in a cluster; "0" turns it off`)
	fs.BoolVar(&o.metricsSecure, "metrics-secure", false,
		"serve metrics over HTTPS and require a token allowed to GET /metrics (TokenReview + SubjectAccessReview)")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", "127.0.0.1:8081",
		`address of /healthz and /readyz; "0" turns them off`)
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"hold a Lease so that of several operator processes only one reconciles")
	fs.StringVar(&o.leaderElectNamespace, "leader-election-namespace", "",
		`namespace of the Lease (default: the Pod's own namespace in a cluster, "default" outside)`)
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"how long followers wait after the last renewal before taking over the Lease")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"how long the leader keeps retrying to renew before it gives up leadership")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second,
		"how often candidates try to acquire or renew the Lease")
	fs.Float64Var(&o.qps, "kube-api-qps", 50, "client-side rate limit of API requests per second")
	fs.IntVar(&o.burst, "kube-api-burst", 100, "client-side burst of API requests above --kube-api-qps")
	fs.IntVar(&o.maxConcurrent, "max-concurrent-reconciles", 4, "number of PodSets reconciled in parallel")
	fs.StringVar(&o.recordNamespace, "record-namespace", controller.DefaultRecordNamespace,
		"namespace of the operator's record of every PodSet (one ConfigMap each)")
	config.RegisterFlags(fs)
	o.zap.BindFlags(fs)

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if o.maxConcurrent < 1 {
		return nil, fmt.Errorf("%w: --max-concurrent-reconciles must be at least 1, got %d", errUsage, o.maxConcurrent)
	}
	if o.qps <= 0 || o.burst < 1 {
		return nil, fmt.Errorf("%w: --kube-api-qps and --kube-api-burst must be positive", errUsage)
	}
	if o.recordNamespace == "" {
		return nil, fmt.Errorf("%w: --record-namespace must not be empty", errUsage)
	}
	if !o.metricsSecure && !loopbackOrOff(o.metricsAddr) {
		return nil, fmt.Errorf("%w: --metrics-bind-address %q would serve metrics unauthenticated beyond this machine; add --metrics-secure or bind 127.0.0.1", errUsage, o.metricsAddr)
	}
	return o, nil
}

// loopbackOrOff reports whether addr ("host:port", or "0" for off) only
// listens on a loopback address.
func loopbackOrOff(addr string) bool {
	if addr == "0" {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// With --metrics-secure the metrics endpoint checks every caller's token with
// a TokenReview and its permission to GET /metrics with a SubjectAccessReview.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

func runManager(ctx context.Context, o *options) error {
	log := ctrl.Log.WithName("setup")

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst

	if err := checkCRDs(cfg); err != nil {
		return err
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(workshopv1alpha1.AddToScheme(scheme))

	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.metricsSecure}
	if o.metricsSecure {
		// Callers must present a token that may GET /metrics; the
		// operator checks it with TokenReview and SubjectAccessReview.
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	leNamespace := o.leaderElectNamespace
	if o.leaderElect && leNamespace == "" {
		if _, err := os.Stat(inClusterNamespaceFile); err != nil {
			leNamespace = "default" // out of cluster: controller-runtime cannot guess
		}
	}

	// START manager OMIT
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         controller.CacheOptions(),
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.probeAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       leNamespace,
		LeaderElectionReleaseOnCancel: true, // hand over at once on a clean shutdown
		LeaseDuration:                 &o.leaseDuration,
		RenewDeadline:                 &o.renewDeadline,
		RetryPeriod:                   &o.retryPeriod,
	})
	// END manager OMIT
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	r := &controller.PodSetReconciler{
		Client:          mgr.GetClient(),
		Recorder:        mgr.GetEventRecorder("podset-operator"),
		RecordNamespace: o.recordNamespace,
	}
	if err := r.SetupWithManager(mgr, o.maxConcurrent); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("informers", cacheSynced(mgr)); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}

	log.Info("starting manager", "host", cfg.Host, "leaderElection", o.leaderElect,
		"metrics", o.metricsAddr, "metricsSecure", o.metricsSecure, "probes", o.probeAddr,
		"maxConcurrentReconciles", o.maxConcurrent, "qps", o.qps, "burst", o.burst, "recordNamespace", o.recordNamespace)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("run manager: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// cacheSynced is a readiness check that passes once the informer caches
// have synced, i.e. once the operator reads a complete picture of the cluster.
func cacheSynced(mgr ctrl.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 100*time.Millisecond)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer caches have not synced yet")
		}
		return nil
	}
}

// checkCRDs fails with an actionable message when the API server does not
// serve PodSets and OperatorConfigs: without them the informers would only
// log "no matches for kind" forever.
func checkCRDs(cfg *rest.Config) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create discovery client: %w", err)
	}
	gv := workshopv1alpha1.GroupVersion.String()
	resources, err := dc.ServerResourcesForGroupVersion(gv)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("ask the API server at %s which resources it serves: %w", cfg.Host, err)
	}
	served := map[string]bool{}
	if resources != nil {
		for _, r := range resources.APIResources {
			served[r.Kind] = true
		}
	}
	for _, kind := range []string{"PodSet", "OperatorConfig"} {
		if !served[kind] {
			return fmt.Errorf("the API server at %s does not serve %s (%s): the CRDs are not installed; run `go tool mage operator:install` first",
				cfg.Host, kind, gv)
		}
	}
	return nil
}
