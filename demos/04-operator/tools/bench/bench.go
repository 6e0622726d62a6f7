package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
	hbench "github.com/kubeworkshop/kubeworkshop/harness/bench"
	"github.com/kubeworkshop/kubeworkshop/harness/measure"
)

// Options configures Run. Zero values take the defaults in parentheses.
type Options struct {
	Kubeconfig    string    // the (kwok) cluster to measure on; required
	WorkDir       string    // operator binary and log; required
	Out           io.Writer // progress and results (os.Stdout)
	PodSets       int       // number of PodSets (1000)
	Replicas      int32     // replicas per PodSet (3)
	QPS           float64   // operator and raw-loop client QPS (200)
	Burst         int       // operator and raw-loop client burst (400)
	MaxConcurrent int       // operator --max-concurrent-reconciles (8)
	Workers       int       // parallel creates of PodSets and of raw Pods (16)
	Timeout       time.Duration
}

func (o *Options) defaults() {
	o.Out = cmp.Or[io.Writer](o.Out, os.Stdout)
	o.PodSets = cmp.Or(o.PodSets, 1000)
	o.Replicas = cmp.Or(o.Replicas, 3)
	o.QPS = cmp.Or(o.QPS, 200)
	o.Burst = cmp.Or(o.Burst, 400)
	o.MaxConcurrent = cmp.Or(o.MaxConcurrent, 8)
	o.Workers = cmp.Or(o.Workers, 16)
	o.Timeout = cmp.Or(o.Timeout, 15*time.Minute)
}

// Result holds the figures of one run.
type Result struct {
	Pods             int
	RawCreate        time.Duration // the client-go loop: all Pods created
	RawReady         time.Duration // ... and all Running and Ready
	OperatorReady    time.Duration // PodSets created until all report Available
	OperatorDrain    time.Duration // PodSets deleted until they and their pods are gone
	Reconciles       float64       // controller_runtime_reconcile_total for the podset controller
	ReconcileErrors  float64       // controller_runtime_reconcile_errors_total
	PodOpErrors      float64       // failed Pod creates and deletes
	PodCreates       float64       // successful Pod creates, counted after the drain
	PodDeletes       float64       // successful Pod deletes, counted after the drain
	OperatorPeakRSS  int64         // bytes (VmHWM)
	ReconcilesPerSec float64
}

// Ratio is the operator's throughput divided by the raw loop's, both
// measured until every Pod is Ready.
func (r Result) Ratio() float64 {
	if r.OperatorReady == 0 {
		return 0
	}
	return r.RawReady.Seconds() / r.OperatorReady.Seconds()
}

// Print writes the figures as a table, then how the run compares with the
// benchmark's goals. The goals are reported, never enforced.
func (r Result) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintf(tw, "pods\t%d\n", r.Pods)
	fmt.Fprintf(tw, "raw client-go loop: created / all Ready\t%s / %s\n", r.RawCreate.Round(time.Millisecond), r.RawReady.Round(time.Millisecond))
	fmt.Fprintf(tw, "operator: PodSets created until all Available\t%s\n", r.OperatorReady.Round(time.Millisecond))
	fmt.Fprintf(tw, "PodSets deleted until they and their pods are gone\t%s\n", r.OperatorDrain.Round(time.Millisecond))
	fmt.Fprintf(tw, "pods created, deleted by the operator\t%.0f, %.0f\n", r.PodCreates, r.PodDeletes)
	fmt.Fprintf(tw, "reconciles (per second)\t%.0f (%.1f/s)\n", r.Reconciles, r.ReconcilesPerSec)
	fmt.Fprintf(tw, "reconcile errors, failed pod operations\t%.0f, %.0f\n", r.ReconcileErrors, r.PodOpErrors)
	fmt.Fprintf(tw, "operator peak RSS\t%s\n", hbench.MiB(r.OperatorPeakRSS))
	if err := tw.Flush(); err != nil {
		return err
	}
	errs := r.ReconcileErrors + r.PodOpErrors
	_, err := fmt.Fprintf(w, "\nthroughput ratio operator/raw: %.2f (goal: at least 0.5) — %s\n"+
		"errors other than conflicts: %.0f (goal: 0) — %s\n(figures only; the benchmark never fails on them)\n",
		r.Ratio(), hbench.Verdict(r.Ratio() >= 0.5), errs, hbench.Verdict(errs == 0))
	return err
}

// Run measures the raw client-go loop first, cleans up, then measures the
// operator on the same cluster.
func Run(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	res := Result{Pods: o.PodSets * int(o.Replicas)}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return res, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.QPS), o.Burst
	c, err := client.New(cfg, client.Options{Scheme: ops.Scheme()})
	if err != nil {
		return res, fmt.Errorf("create client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return res, fmt.Errorf("create clientset: %w", err)
	}
	if err := ops.Install(ctx, cfg, io.Discard); err != nil {
		return res, err
	}

	fmt.Fprintf(o.Out, "raw client-go loop: creating %d pods with %d workers (QPS %.0f, burst %d)\n", res.Pods, o.Workers, o.QPS, o.Burst)
	if err := rawLoop(ctx, c, cs, o, &res); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "  created in %s, all Ready after %s\n", res.RawCreate.Round(time.Millisecond), res.RawReady.Round(time.Millisecond))

	fmt.Fprintf(o.Out, "operator: %d PodSets x %d replicas (--max-concurrent-reconciles=%d, QPS %.0f, burst %d)\n",
		o.PodSets, o.Replicas, o.MaxConcurrent, o.QPS, o.Burst)
	if err := operatorRun(ctx, c, o, &res); err != nil {
		return res, err
	}
	res.ReconcilesPerSec = res.Reconciles / res.OperatorReady.Seconds()
	return res, nil
}

// rawLoop creates the Pods directly, waits until kwok reports them Ready,
// then deletes them and waits until they are gone.
func rawLoop(ctx context.Context, c client.Client, cs kubernetes.Interface, o Options, res *Result) error {
	ns, err := createNamespace(ctx, c, "bench-raw")
	if err != nil {
		return err
	}
	start := time.Now()
	err = parallel(ctx, res.Pods, o.Workers, func(ctx context.Context, i int) error {
		pod := benchPod(ns, fmt.Sprintf("raw-%d", i))
		_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("raw loop: %w", err)
	}
	res.RawCreate = time.Since(start)
	fmt.Fprintf(o.Out, "  %d pods created in %s\n", res.Pods, res.RawCreate.Round(time.Millisecond))
	lastReady := -1
	progress := func(ready, _ int) bool {
		if ready/500 != lastReady/500 {
			fmt.Fprintf(o.Out, "  %s: %d/%d pods Ready\n", time.Since(start).Round(time.Second), ready, res.Pods)
			lastReady = ready
		}
		return ready == res.Pods
	}
	if err := waitPods(ctx, c, ns, o.Timeout, progress); err != nil {
		return fmt.Errorf("raw loop: %w", err)
	}
	res.RawReady = time.Since(start)
	fmt.Fprintf(o.Out, "  deleting the raw pods\n")
	return deleteNamespace(ctx, c, cs, ns, o)
}

func operatorRun(ctx context.Context, c client.Client, o Options, res *Result) (err error) {
	bin, err := ops.BuildOperator(ctx, o.WorkDir)
	if err != nil {
		return err
	}
	logFile, err := os.Create(o.WorkDir + "/operator-bench.log")
	if err != nil {
		return fmt.Errorf("create operator log: %w", err)
	}
	defer logFile.Close()
	op, err := ops.StartOperator(bin, o.Kubeconfig, logFile,
		"--kube-api-qps", strconv.FormatFloat(o.QPS, 'f', -1, 64),
		"--kube-api-burst", strconv.Itoa(o.Burst),
		"--max-concurrent-reconciles", strconv.Itoa(o.MaxConcurrent),
		"--zap-log-level", "info")
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := op.Stop(time.Minute); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	if err := op.WaitReady(ctx, time.Minute); err != nil {
		return err
	}

	ns, err := createNamespace(ctx, c, "bench-podsets")
	if err != nil {
		return err
	}
	start := time.Now()
	err = parallel(ctx, o.PodSets, o.Workers, func(ctx context.Context, i int) error {
		return c.Create(ctx, benchPodSet(ns, fmt.Sprintf("ps-%d", i), o.Replicas))
	})
	if err != nil {
		return fmt.Errorf("create PodSets: %w", err)
	}
	fmt.Fprintf(o.Out, "  %d PodSets created in %s\n", o.PodSets, time.Since(start).Round(time.Millisecond))
	last := -1
	err = wait.PollUntilContextTimeout(ctx, time.Second, o.Timeout, true, func(ctx context.Context) (bool, error) {
		var list workshopv1alpha1.PodSetList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, nil // a slow list under load is not fatal; try again
		}
		available := 0
		for _, ps := range list.Items {
			cond := meta.FindStatusCondition(ps.Status.Conditions, workshopv1alpha1.ConditionAvailable)
			if cond != nil && cond.Status == metav1.ConditionTrue && ps.Status.ObservedGeneration == ps.Generation &&
				ps.Status.ReadyReplicas == o.Replicas {
				available++
			}
		}
		if available/100 != last/100 || available == o.PodSets {
			fmt.Fprintf(o.Out, "  %s: %d/%d PodSets Available\n", time.Since(start).Round(time.Second), available, o.PodSets)
			last = available
		}
		return available == o.PodSets, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the PodSets to become Available: %w", err)
	}
	res.OperatorReady = time.Since(start)

	if err := scrape(ctx, op.MetricsURL, res); err != nil {
		return err
	}
	if res.OperatorPeakRSS, err = measure.PeakRSS(op.Pid()); err != nil {
		return err
	}

	var drained Result
	// Clean up while the operator still runs: each PodSet's finalizer waits
	// for the operator to delete its record; then the garbage collector
	// deletes its Pods.
	fmt.Fprintf(o.Out, "  deleting the PodSets (the operator deletes their records, the garbage collector their pods)\n")
	start = time.Now()
	err = parallel(ctx, o.PodSets, o.Workers, func(ctx context.Context, i int) error {
		ps := &workshopv1alpha1.PodSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("ps-%d", i)}}
		return client.IgnoreNotFound(c.Delete(ctx, ps))
	})
	if err != nil {
		return fmt.Errorf("delete PodSets: %w", err)
	}
	report := every(progressEvery)
	err = wait.PollUntilContextTimeout(ctx, time.Second, o.Timeout, true, func(ctx context.Context) (bool, error) {
		var list workshopv1alpha1.PodSetList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		var pods metav1.PartialObjectMetadataList
		pods.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
		if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		done := len(list.Items) == 0 && len(pods.Items) == 0
		if report() || done {
			fmt.Fprintf(o.Out, "  %s: %d PodSets and %d pods left\n", time.Since(start).Round(time.Second), len(list.Items), len(pods.Items))
		}
		return done, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the PodSets and their pods to be deleted: %w", err)
	}
	res.OperatorDrain = time.Since(start)
	if err := scrape(ctx, op.MetricsURL, &drained); err != nil {
		return err
	}
	res.PodCreates, res.PodDeletes = drained.PodCreates, drained.PodDeletes
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	return nil
}

// scrape reads the reconcile and error counters from the operator's
// metrics endpoint.
func scrape(ctx context.Context, url string, res *Result) error {
	lines, err := ops.MetricLines(ctx, url, func(string) bool { return true })
	if err != nil {
		return err
	}
	for _, line := range lines {
		value := func() float64 {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			return f
		}
		switch {
		case strings.HasPrefix(line, `controller_runtime_reconcile_total{controller="podset"`):
			res.Reconciles += value()
		case strings.HasPrefix(line, `controller_runtime_reconcile_errors_total{controller="podset"`):
			res.ReconcileErrors += value()
		case strings.HasPrefix(line, `workshop_podset_pod_operations_total{`) && strings.Contains(line, `result="error"`):
			res.PodOpErrors += value()
		case strings.HasPrefix(line, `workshop_podset_pod_operations_total{operation="create",result="success"}`):
			res.PodCreates += value()
		case strings.HasPrefix(line, `workshop_podset_pod_operations_total{operation="delete",result="success"}`):
			res.PodDeletes += value()
		}
	}
	return nil
}

func benchPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "bench"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
	}
}

func benchPodSet(ns, name string, replicas int32) *workshopv1alpha1.PodSet {
	return &workshopv1alpha1.PodSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: workshopv1alpha1.PodSetSpec{
			Replicas: ptr.To(replicas),
			Selector: workshopv1alpha1.PodSetSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       benchPod("", "").Spec,
			},
		},
	}
}

func createNamespace(ctx context.Context, c client.Client, name string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-"}}
	if err := c.Create(ctx, ns); err != nil {
		return "", fmt.Errorf("create namespace: %w", err)
	}
	return ns.Name, nil
}

// deleteNamespace deletes the namespace's Pods one by one in parallel (a
// single collection delete of thousands of Pods can outlast the request
// timeout), waits until they are gone, then deletes the namespace.
func deleteNamespace(ctx context.Context, c client.Client, cs kubernetes.Interface, ns string, o Options) error {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		return fmt.Errorf("list pods in %s: %w", ns, err)
	}
	err := parallel(ctx, len(pods.Items), o.Workers, func(ctx context.Context, i int) error {
		err := cs.CoreV1().Pods(ns).Delete(ctx, pods.Items[i].Name, metav1.DeleteOptions{})
		return client.IgnoreNotFound(err)
	})
	if err != nil {
		return fmt.Errorf("delete pods in %s: %w", ns, err)
	}
	start, report := time.Now(), every(progressEvery)
	err = waitPods(ctx, c, ns, o.Timeout, func(_, total int) bool {
		if report() || total == 0 {
			fmt.Fprintf(o.Out, "  %s: %d pods left\n", time.Since(start).Round(time.Second), total)
		}
		return total == 0
	})
	if err != nil {
		return fmt.Errorf("wait for the pods in %s to go: %w", ns, err)
	}
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	return nil
}

// waitPods polls the namespace's Pods until done(ready, total) holds.
func waitPods(ctx context.Context, c client.Client, ns string, timeout time.Duration, done func(ready, total int) bool) error {
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, nil // a slow list under load is not fatal; try again
		}
		ready := 0
		for _, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					ready++
				}
			}
		}
		return done(ready, len(pods.Items)), nil
	})
}

// progressEvery is how often a long wait reports how far it got.
const progressEvery = 5 * time.Second

// every returns a function that reports true at most once per interval
// (the first call included), for progress lines during long waits.
func every(interval time.Duration) func() bool {
	var last time.Time
	return func() bool {
		if time.Since(last) < interval {
			return false
		}
		last = time.Now()
		return true
	}
}

// parallel runs fn for every index on the given number of workers (see
// measure.Parallel); an object that already exists counts as done, so an
// interrupted benchmark can be re-run over its leftovers.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	return measure.Parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		if err := fn(ctx, i); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	})
}
