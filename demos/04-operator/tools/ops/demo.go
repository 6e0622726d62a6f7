package ops

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/config"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/internal/controller"
)

// DemoOptions configures Demo.
type DemoOptions struct {
	// Kubeconfig is the cluster to run against (required).
	Kubeconfig string
	// Out receives the narration (default os.Stdout).
	Out io.Writer
	// WorkDir receives the operator binary and its log (required).
	WorkDir string
	// Namespace holds the sample PodSets (default "podset-demo").
	Namespace string
	// Timeout bounds every wait for convergence (default 2 minutes).
	Timeout time.Duration
}

// Scheme knows the built-in kinds and the workshop.example.com kinds.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // static registration: cannot fail
	}
	if err := workshopv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// Demo is the live demo: install the CRDs, start the operator in the
// background (log in WorkDir), apply the samples and show them converge,
// scale up through the scale subresource, delete a pod and watch it come
// back, show the operator's own metric, then delete everything (the drain
// finalizer at work) and stop the operator with SIGTERM.
func Demo(ctx context.Context, o DemoOptions) (err error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Namespace == "" {
		o.Namespace = "podset-demo"
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, "\n==> "+format+"\n", args...) }
	defer func() {
		if err != nil && errors.Is(ctx.Err(), context.Canceled) {
			err = fmt.Errorf("interrupted; the demo cleaned up what it could (see above): %w", ctx.Err())
		}
	}()

	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", o.Kubeconfig, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}

	say("installing the CRDs and RBAC (go tool mage operator:install)")
	if err := Install(ctx, cfg, o.Out); err != nil {
		return err
	}

	say("building the operator and starting it in the background")
	bin, err := BuildOperator(ctx, o.WorkDir)
	if err != nil {
		return err
	}
	logPath := filepath.Join(o.WorkDir, "operator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create operator log: %w", err)
	}
	defer logFile.Close()
	op, err := StartOperator(bin, o.Kubeconfig, logFile, "--zap-log-level=info")
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the operator with SIGTERM")
		if stopErr := op.Stop(30 * time.Second); stopErr != nil && err == nil {
			err = stopErr
		} else if stopErr == nil {
			fmt.Fprintf(o.Out, "operator stopped cleanly; its log is %s\n", logPath)
		}
	}()
	if err := op.WaitReady(ctx, o.Timeout); err != nil {
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}
	fmt.Fprintf(o.Out, "operator pid %d is ready; log: %s; metrics: %s\n", op.Pid(), logPath, op.MetricsURL)

	say("applying the samples: OperatorConfig %q and two PodSets in namespace %s", workshopv1alpha1.OperatorConfigName, o.Namespace)
	if err := ensureNamespace(ctx, c, o.Namespace, o.Timeout); err != nil {
		return err
	}
	samples, err := config.Samples()
	if err != nil {
		return err
	}
	applied, err := Apply(ctx, c, o.Namespace, samples...)
	if err != nil {
		return err
	}
	for _, u := range applied {
		fmt.Fprintf(o.Out, "applied %s %s\n", u.GetKind(), client.ObjectKeyFromObject(u))
	}
	defer func() {
		if cleanupErr := cleanup(ctx, c, o, say); cleanupErr != nil && err == nil {
			err = cleanupErr
		}
	}()

	say("watching the PodSets converge (like kubectl get podsets -w)")
	if err := watchUntilAvailable(ctx, c, o); err != nil {
		return err
	}
	if err := printRecords(ctx, c, o); err != nil {
		return err
	}

	say("scaling PodSet web to 5 through the scale subresource (like kubectl scale podset web --replicas=5)")
	web := &workshopv1alpha1.PodSet{ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: "web"}}
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if err := c.SubResource("scale").Update(ctx, web, client.WithSubResourceBody(scale)); err != nil {
		return fmt.Errorf("scale PodSet web: %w", err)
	}
	if err := watchUntilAvailable(ctx, c, o); err != nil {
		return err
	}

	say("deleting one of web's pods behind the operator's back")
	pods, err := listPods(ctx, c, o.Namespace, "web")
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("PodSet web has no pods to delete")
	}
	victim := pods[0]
	before := map[string]bool{}
	for _, p := range pods {
		before[p.Name] = true
	}
	if err := c.Delete(ctx, &victim); err != nil {
		return fmt.Errorf("delete pod %s: %w", victim.Name, err)
	}
	fmt.Fprintf(o.Out, "deleted pod %s\n", victim.Name)
	var replacement string
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, o.Timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := listPods(ctx, c, o.Namespace, "web")
		if err != nil {
			return false, err
		}
		running, victimGone := 0, true
		for _, p := range pods {
			switch {
			case p.Name == victim.Name:
				victimGone = false
			case !before[p.Name]:
				replacement = p.Name
			}
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return victimGone && replacement != "" && running == 5, nil
	})
	if err != nil {
		return fmt.Errorf("wait for web to replace pod %s: %w", victim.Name, err)
	}
	fmt.Fprintf(o.Out, "the operator replaced it with %s; web has 5 running pods again\n", replacement)
	if err := printEvents(ctx, c, o); err != nil {
		return err
	}

	say("the operator's own metric (from %s)", op.MetricsURL)
	if err := printMetric(ctx, o.Out, op.MetricsURL, "workshop_podset_managed_pods"); err != nil {
		return err
	}
	return nil
}

// ensureNamespace creates the namespace, first waiting for a previous run's
// namespace of the same name to finish terminating.
func ensureNamespace(ctx context.Context, c client.Client, name string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		err := c.Create(ctx, ns)
		if err == nil {
			return true, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return false, err
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ns), ns); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return ns.Status.Phase != corev1.NamespaceTerminating, nil
	})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// cleanupTimeout bounds the cleanup after an interruption (Ctrl-C): the
// user asked to stop, so the demo waits briefly and then says what is left.
// mage itself gives a cancelled target 5 seconds.
const cleanupTimeout = 4 * time.Second

// cleanup deletes the sample PodSets (the finalizer deletes their records,
// the garbage collector their pods), the OperatorConfig and the namespace.
// It runs while the operator still runs; after an interruption (ctx done) it
// waits at most cleanupTimeout and reports what is left instead of hanging.
// It works on after ctx ends (context.WithoutCancel).
func cleanup(ctx context.Context, c client.Client, o DemoOptions, say func(string, ...any)) error {
	wait := o.Timeout
	if ctx.Err() != nil {
		wait = cleanupTimeout
		fmt.Fprintf(o.Out, "\ninterrupted: cleaning up (at most %s)\n", wait)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()

	say("deleting the PodSets: the finalizer deletes their records, the garbage collector their pods")
	if err := c.DeleteAllOf(cctx, &workshopv1alpha1.PodSet{}, client.InNamespace(o.Namespace)); err != nil {
		return fmt.Errorf("delete PodSets: %w", err)
	}
	last := ""
	err := pollUntil(cctx, func(ctx context.Context) (bool, error) {
		var sets workshopv1alpha1.PodSetList
		if err := c.List(ctx, &sets, client.InNamespace(o.Namespace)); err != nil {
			return false, err
		}
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(o.Namespace), client.HasLabels{workshopv1alpha1.PodSetLabel}); err != nil {
			return false, err
		}
		var records corev1.ConfigMapList
		if err := c.List(ctx, &records, client.InNamespace(controller.DefaultRecordNamespace),
			client.MatchingLabels{workshopv1alpha1.RecordNamespaceLabel: o.Namespace}); err != nil {
			return false, err
		}
		if line := fmt.Sprintf("%d PodSet(s), %d record(s), %d pod(s) left", len(sets.Items), len(records.Items), len(pods.Items)); line != last {
			fmt.Fprintln(o.Out, line)
			last = line
		}
		return len(sets.Items)+len(records.Items)+len(pods.Items) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the PodSets, their records and pods to go (%s): %w; "+
			"if no operator runs, a deleted PodSet keeps its finalizer: start one (go tool mage operator:run) or see the README, section Deleting", last, err)
	}
	fmt.Fprintln(o.Out, "all PodSets, their records and their pods are gone")
	cfg := &workshopv1alpha1.OperatorConfig{ObjectMeta: metav1.ObjectMeta{Name: workshopv1alpha1.OperatorConfigName}}
	if err := c.Delete(cctx, cfg); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete OperatorConfig: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}}
	if err := c.Delete(cctx, ns); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete namespace %s: %w", o.Namespace, err)
	}
	return nil
}

// pollUntil calls done every 250 ms until it returns true or an error, or
// ctx ends.
func pollUntil(ctx context.Context, done wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, done)
}

// watchUntilAvailable prints a `kubectl get podsets` style table whenever it
// changes, until every PodSet in the namespace is Available with all its
// pods Ready.
func watchUntilAvailable(ctx context.Context, c client.Client, o DemoOptions) error {
	last := ""
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, o.Timeout, true, func(ctx context.Context) (bool, error) {
		var sets workshopv1alpha1.PodSetList
		if err := c.List(ctx, &sets, client.InNamespace(o.Namespace)); err != nil {
			return false, err
		}
		sort.Slice(sets.Items, func(i, j int) bool { return sets.Items[i].Name < sets.Items[j].Name })
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDESIRED\tREADY\tAVAILABLE\tPROGRESSING\tDEGRADED")
		done := len(sets.Items) > 0
		for _, ps := range sets.Items {
			avail := meta.FindStatusCondition(ps.Status.Conditions, workshopv1alpha1.ConditionAvailable)
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", ps.Name, ps.DesiredReplicas(), ps.Status.ReadyReplicas,
				condText(avail), condText(meta.FindStatusCondition(ps.Status.Conditions, workshopv1alpha1.ConditionProgressing)),
				condText(meta.FindStatusCondition(ps.Status.Conditions, workshopv1alpha1.ConditionDegraded)))
			upToDate := ps.Status.ObservedGeneration == ps.Generation && avail != nil &&
				avail.Status == metav1.ConditionTrue && avail.ObservedGeneration == ps.Generation
			if !upToDate || ps.Status.ReadyReplicas != ps.Status.Replicas {
				done = false
			}
		}
		tw.Flush()
		if table := b.String(); table != last {
			fmt.Fprintf(o.Out, "%s\n%s", time.Now().Format("15:04:05.000"), table)
			last = table
		}
		return done, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the PodSets in %s to become Available: %w", o.Namespace, err)
	}
	return nil
}

func condText(c *metav1.Condition) string {
	if c == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", c.Status, c.Reason)
}

func listPods(ctx context.Context, c client.Client, namespace, podSet string) ([]corev1.Pod, error) {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{workshopv1alpha1.PodSetLabel: podSet}); err != nil {
		return nil, fmt.Errorf("list pods of PodSet %s: %w", podSet, err)
	}
	return pods.Items, nil
}

// printRecords lists the records the operator keeps of the demo's PodSets
// in its own namespace: what the finalizer cleans up.
func printRecords(ctx context.Context, c client.Client, o DemoOptions) error {
	var records corev1.ConfigMapList
	if err := c.List(ctx, &records, client.InNamespace(controller.DefaultRecordNamespace),
		client.MatchingLabels{workshopv1alpha1.RecordNamespaceLabel: o.Namespace}); err != nil {
		return fmt.Errorf("list the PodSet records: %w", err)
	}
	fmt.Fprintf(o.Out, "the operator's records of them (kubectl -n %s get configmaps -l %s=%s):\n",
		controller.DefaultRecordNamespace, workshopv1alpha1.RecordNamespaceLabel, o.Namespace)
	for _, r := range records.Items {
		fmt.Fprintf(o.Out, "  configmap/%s  uid=%s\n", r.Name, r.Data["uid"])
	}
	return nil
}

// printEvents shows the last events about PodSet web.
func printEvents(ctx context.Context, c client.Client, o DemoOptions) error {
	var evs corev1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(o.Namespace)); err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	var rows []corev1.Event
	for _, e := range evs.Items {
		if e.InvolvedObject.Kind == "PodSet" && e.InvolvedObject.Name == "web" {
			rows = append(rows, e)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return eventTime(rows[i]).Before(eventTime(rows[j])) })
	if len(rows) > 6 {
		rows = rows[len(rows)-6:]
	}
	fmt.Fprintln(o.Out, "latest events of PodSet web (like kubectl events --for podset/web):")
	for _, e := range rows {
		fmt.Fprintf(o.Out, "  %-7s %-10s %s\n", e.Type, e.Reason, e.Message)
	}
	return nil
}

func eventTime(e corev1.Event) time.Time {
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.LastTimestamp.Time
}

// printMetric prints the lines of one metric from a Prometheus endpoint.
func printMetric(ctx context.Context, out io.Writer, url, name string) error {
	lines, err := MetricLines(ctx, url, func(line string) bool { return strings.HasPrefix(line, name) })
	if err != nil {
		return err
	}
	for _, line := range lines {
		fmt.Fprintf(out, "  %s\n", line)
	}
	return nil
}

// MetricLines fetches a Prometheus text endpoint (such as the operator's
// /metrics) and returns its sample lines, comments skipped, for which keep
// returns true.
func MetricLines(ctx context.Context, url string, keep func(line string) bool) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") && keep(line) {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	return lines, nil
}
