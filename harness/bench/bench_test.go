package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/measure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestSeedCreatesOnlyWhatIsMissingOnTheNodes(t *testing.T) {
	ctx := t.Context()
	node := func(name string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	cs := fake.NewClientset(node("n0"), node("n1"))
	s := Seeding{Pods: 12, Namespaces: 3}
	if err := Seed(ctx, cs, s); err != nil {
		t.Fatal(err)
	}
	// Delete one pod: a second Seed puts back exactly that one.
	if err := cs.CoreV1().Pods(Namespace(1)).Delete(ctx, "bench-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	s.Log = &log
	if err := Seed(ctx, cs, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "created 1 pods") {
		t.Errorf("second Seed should create only the missing pod, said:\n%s", log.String())
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 12 {
		t.Fatalf("got %d pods, want 12", len(pods.Items))
	}
	perNode := map[string]int{}
	for _, p := range pods.Items {
		if p.Labels[Label] != "pod-lister" || p.Spec.NodeName == "" {
			t.Errorf("pod %s/%s: labels %v, node %q", p.Namespace, p.Name, p.Labels, p.Spec.NodeName)
		}
		perNode[p.Spec.NodeName]++
	}
	if perNode["n0"] != 6 || perNode["n1"] != 6 {
		t.Errorf("pods per node = %v, want them spread evenly", perNode)
	}
}

func TestSeedNeedsNodes(t *testing.T) {
	if err := Seed(t.Context(), fake.NewClientset(), Seeding{Pods: 2, Namespaces: 1}); err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Fatalf("want an error about nodes, got %v", err)
	}
}

func TestCleanDeletesTheNamespaces(t *testing.T) {
	ctx := t.Context()
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace(0)}}, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}})
	if err := Clean(ctx, cs, Seeding{Namespaces: 2}); err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "other" {
		t.Errorf("namespaces left: %v, want only other", list.Items)
	}
}

// holdUntilSampled makes every child RunMeasured starts in this test
// measurable however loaded the machine: a script ending in `$hold` waits
// until its memory has been sampled, which RunMeasured marks by creating a
// file named after the child's PID. A child that exited first would have no
// VmHWM left to read.
func holdUntilSampled(t *testing.T) (hold string) {
	dir := t.TempDir()
	afterFirstSample = func(pid int) {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(pid)), nil, 0o600); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { afterFirstSample = nil })
	return fmt.Sprintf(`until [ -e %s/$$ ]; do sleep 0.01; done`, dir)
}

func TestRunMeasured(t *testing.T) {
	hold := holdUntilSampled(t)
	// Were no sample ever taken, the child would wait for ever: a generous
	// bound turns that into a failure.
	bounded, stop := context.WithTimeout(t.Context(), time.Minute)
	defer stop()
	m, err := RunMeasured(bounded, []string{"sh", "-c", "seq 7; " + hold}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Lines != 7 || m.PeakRSS <= 0 || m.Wall <= 0 {
		t.Errorf("got %+v, want 7 lines and a positive RSS and wall time", m)
	}
	if _, err := RunMeasured(bounded, []string{"sh", "-c", hold + "; exit 3"}, &bytes.Buffer{}); err == nil {
		t.Error("a failing command was measured as a success")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := RunMeasured(ctx, []string{"sleep", "10"}, &bytes.Buffer{}); err == nil {
		t.Error("an interrupted run was measured as a success")
	}
}

func TestRunMeasuredSaysWhenACommandIsTooShortToSample(t *testing.T) {
	// No reading is ever had, which is what a command that exits before the
	// first sample looks like.
	peakRSS = func(int) (int64, error) { return 0, errors.New("no such process") }
	t.Cleanup(func() { peakRSS = measure.PeakRSS })
	_, err := RunMeasured(t.Context(), []string{"true"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "measure a command that runs longer") {
		t.Errorf("want the too-short error, got %v", err)
	}
}

func TestCompareRefusesAChangingCluster(t *testing.T) {
	hold := holdUntilSampled(t)
	bounded, stop := context.WithTimeout(t.Context(), time.Minute)
	defer stop()
	dir := t.TempDir()
	// Each run prints one line more than the previous one.
	script := fmt.Sprintf(`n=$(cat %[1]s/n 2>/dev/null || echo 3); seq $n; echo $((n+1)) > %[1]s/n; %[2]s`, dir, hold)
	_, err := Compare(bounded, []Contender{{"growing", []string{"sh", "-c", script}}}, 2, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "the cluster changed") {
		t.Fatalf("want the changed-cluster error, got %v", err)
	}
	res, err := Compare(bounded, []Contender{{"steady", []string{"sh", "-c", "seq 4; " + hold}}}, 2, &bytes.Buffer{})
	if err != nil || len(res) != 1 || res[0].Lines != 4 {
		t.Fatalf("Compare = %+v, %v", res, err)
	}
}

func TestPrintPodLister(t *testing.T) {
	var out bytes.Buffer
	results := []Result{
		{Contender{"pod-lister", nil}, Measurement{Wall: 500 * time.Millisecond, PeakRSS: 40 << 20, Lines: 10000}},
		{Contender{"kubectl", nil}, Measurement{Wall: 5 * time.Second, PeakRSS: 400 << 20, Lines: 10000}},
	}
	if err := PrintPodLister(&out, results); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"COMMAND", "pod-lister", "10000", "40.0 MiB", "ratio pod-lister/kubectl: 0.10", "— met"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if err := PrintPodLister(&out, results[:1]); err == nil {
		t.Error("one result must be refused")
	}
}
