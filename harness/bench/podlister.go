package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeworkshop/kubeworkshop/harness/measure"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

// Label marks every namespace and pod the benchmark creates.
const Label = "kubeworkshop.dev/bench"

// Goals the table is compared against; figures only, never assertions.
const (
	RSSGoal  = 64 << 20 // bytes of peak RSS for pod-lister
	WallGoal = 1.2      // pod-lister's wall time over kubectl's
)

// Seeding describes the pods the benchmark lists.
type Seeding struct {
	Pods       int // in all (default 10,000)
	Namespaces int // spread over this many namespaces (default 10)
	// Log receives progress (default: nowhere).
	Log io.Writer
}

func (s Seeding) withDefaults() Seeding {
	if s.Pods <= 0 {
		s.Pods = 10000
	}
	if s.Namespaces <= 0 {
		s.Namespaces = 10
	}
	if s.Log == nil {
		s.Log = io.Discard
	}
	return s
}

// Namespace is the name of the i-th bench namespace.
func Namespace(i int) string { return fmt.Sprintf("bench-pods-%d", i) }

// Seed creates the bench pods that are missing, bound directly to the
// cluster's nodes so that the scheduler is not part of the measurement. It
// is idempotent, and waits for a bench namespace that is still being
// deleted: its pods would vanish during the measurement.
func Seed(ctx context.Context, cs kubernetes.Interface, s Seeding) error {
	s = s.withDefaults()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return errors.New("the cluster has no nodes to bind bench pods to")
	}
	perNS := s.Pods / s.Namespaces
	type job struct{ ns, name, node string }
	var jobs []job
	for i := range s.Namespaces {
		ns := Namespace(i)
		if cur, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && cur.DeletionTimestamp != nil {
			fmt.Fprintf(s.Log, "  namespace %s is still being deleted; waiting for it\n", ns)
			if err := waitGone(ctx, cs, []string{ns}, s.Log); err != nil {
				return err
			}
		}
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{Label: "pod-lister"}}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
		existing := map[string]bool{}
		for cont := ""; ; {
			l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
			if err != nil {
				return fmt.Errorf("listing pods in %s: %w", ns, err)
			}
			for _, p := range l.Items {
				existing[p.Name] = true
			}
			if cont = l.Continue; cont == "" {
				break
			}
		}
		for j := range perNS {
			if name := "bench-" + strconv.Itoa(j); !existing[name] {
				jobs = append(jobs, job{ns, name, nodes.Items[(i*perNS+j)%len(nodes.Items)].Name})
			}
		}
	}
	if len(jobs) == 0 {
		fmt.Fprintf(s.Log, "all %d bench pods exist already\n", perNS*s.Namespaces)
		return nil
	}
	start := time.Now()
	var done atomic.Int64
	err = measure.Parallel(ctx, len(jobs), 32, func(ctx context.Context, i int) error {
		j := jobs[i]
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: j.ns, Name: j.name, Labels: map[string]string{Label: "pod-lister"}},
			Spec: corev1.PodSpec{
				NodeName:    j.node,
				Containers:  []corev1.Container{{Name: "app", Image: workload.Image}},
				Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			},
		}
		if _, err := cs.CoreV1().Pods(j.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating pod %s/%s: %w", j.ns, j.name, err)
		}
		if n := done.Add(1); n%1000 == 0 {
			fmt.Fprintf(s.Log, "  %d/%d pods created\n", n, len(jobs))
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Log, "created %d pods in %v\n", len(jobs), time.Since(start).Round(time.Millisecond))
	return nil
}

// Clean deletes the bench namespaces and waits until they are gone,
// printing how many are left every few seconds.
func Clean(ctx context.Context, cs kubernetes.Interface, s Seeding) error {
	s = s.withDefaults()
	names := make([]string, s.Namespaces)
	for i := range names {
		names[i] = Namespace(i)
		err := cs.CoreV1().Namespaces().Delete(ctx, names[i], metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting namespace %s: %w", names[i], err)
		}
	}
	fmt.Fprintf(s.Log, "deleting %d bench namespaces and their pods ...\n", s.Namespaces)
	return waitGone(ctx, cs, names, s.Log)
}

// progressEvery is how often waits report what is left.
var progressEvery = 5 * time.Second

// waitGone waits until none of the namespaces exists, reporting how many
// namespaces and pods are left while it waits.
func waitGone(ctx context.Context, cs kubernetes.Interface, names []string, log io.Writer) error {
	last := time.Now()
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		left := 0
		for _, ns := range names {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return false, err
			default:
				left++
			}
		}
		if left > 0 && time.Since(last) >= progressEvery {
			last = time.Now()
			pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: Label, Limit: 1})
			remaining := "?"
			if err == nil && pods.RemainingItemCount != nil {
				remaining = strconv.FormatInt(*pods.RemainingItemCount+int64(len(pods.Items)), 10)
			} else if err == nil {
				remaining = strconv.Itoa(len(pods.Items))
			}
			fmt.Fprintf(log, "  %d of %d namespaces still terminating, %s bench pods left\n", left, len(names), remaining)
		}
		return left == 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the bench namespaces to be deleted: %w", err)
	}
	return nil
}

// Contender is one command the benchmark times.
type Contender struct {
	Name string
	Argv []string
}

// Result is the best of a contender's runs.
type Result struct {
	Contender
	Measurement
}

// Compare runs every contender runs times and keeps each one's fastest
// run. Every run must list the same number of lines: a different count
// means the cluster changed during the benchmark, and no figure is fair.
func Compare(ctx context.Context, contenders []Contender, runs int, log io.Writer) ([]Result, error) {
	results := make([]Result, len(contenders))
	want := -1
	for i, c := range contenders {
		results[i].Contender = c
		for run := range runs {
			m, err := RunMeasured(ctx, c.Argv, log)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			if want < 0 {
				want = m.Lines
			}
			if m.Lines != want {
				return nil, fmt.Errorf("%s run %d listed %d lines, an earlier run %d: the cluster changed during the benchmark (is something creating or deleting pods?); re-run it", c.Name, run+1, m.Lines, want)
			}
			fmt.Fprintf(log, "  %s run %d: %v, %s, %d lines\n", c.Name, run+1, m.Wall.Round(time.Millisecond), MiB(m.PeakRSS), m.Lines)
			if results[i].Wall == 0 || m.Wall < results[i].Wall {
				results[i].Measurement = m
			}
		}
	}
	return results, nil
}

// PrintPodLister prints the table of a pod-lister run (results[0]) against
// kubectl (results[1]) and how the figures compare with the goals.
func PrintPodLister(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "COMMAND\tPODS LISTED\tWALL (best)\tPEAK RSS")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%v\t%s\n", r.Name, r.Lines, r.Wall.Round(time.Millisecond), MiB(r.PeakRSS))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(results) != 2 || results[1].Wall == 0 {
		return errors.New("want exactly pod-lister's and kubectl's results")
	}
	ratio := float64(results[0].Wall) / float64(results[1].Wall)
	fmt.Fprintf(w, "\nwall-time ratio pod-lister/kubectl: %.2f (goal: at most %.1f) — %s\n", ratio, WallGoal, Verdict(ratio <= WallGoal))
	fmt.Fprintf(w, "pod-lister peak RSS: %s (goal: under %s) — %s\n", MiB(results[0].PeakRSS), MiB(RSSGoal), Verdict(results[0].PeakRSS < RSSGoal))
	fmt.Fprintln(w, "(figures only; the benchmark never fails on them. Remove the pods with `go tool mage bench:clean`.)")
	return nil
}

// Verdict says whether a figure met its goal.
func Verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// MiB renders a byte count in mebibytes.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
