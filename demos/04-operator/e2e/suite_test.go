//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

var suite = e2e.NewSuite("podset-operator", e2e.WithScheme(ops.Scheme()))

func TestE2E(t *testing.T) { suite.Run(t) }

// prepare builds the operator with gexec and installs the CRDs and RBAC into
// the shared cluster; call it from a BeforeAll. It returns the binary.
func prepare(ctx context.Context) string {
	By("building the operator")
	bin, err := gexec.Build(ops.Package)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)

	By("installing the CRDs and RBAC (what go tool mage operator:install does)")
	Expect(ops.Install(ctx, suite.RESTConfig(), GinkgoWriter)).To(Succeed())
	return bin
}

// operator is an operator process started by a spec, with its metrics and
// probes on free loopback ports.
type operator struct {
	*gexec.Session
	metricsURL string
	readyURL   string
}

// startOperator runs the operator binary against the shared cluster and
// stops it with SIGTERM when the current container ends.
func startOperator(bin string, args ...string) *operator {
	GinkgoHelper()
	metrics, probes := freePort(), freePort()
	all := append([]string{
		"--kubeconfig", suite.Kubeconfig(),
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metrics),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probes),
		"--zap-log-level", "info",
	}, args...)
	session, err := gexec.Start(exec.Command(bin, all...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		session.Terminate()
		Eventually(session).WithTimeout(30 * time.Second).Should(gexec.Exit())
	})
	return &operator{
		Session:    session,
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics),
		readyURL:   fmt.Sprintf("http://127.0.0.1:%d/readyz", probes),
	}
}

// waitReady waits until the operator's /readyz answers 200, which it does
// once its informer caches have synced.
func (o *operator) waitReady(ctx context.Context) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(o.ExitCode()).To(Equal(-1), "the operator exited")
		resp, err := http.Get(o.readyURL)
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
}

// metricsSource is an operator whose metrics a spec reads: a process on
// this machine (plain HTTP on loopback) or a pod of the in-cluster
// Deployment (HTTPS with a token, through the metrics Service).
type metricsSource interface {
	// metric sums the samples whose line starts with prefix (a metric
	// name, optionally with the start of its labels); an absent metric is 0.
	metric(ctx context.Context, g Gomega, prefix string) float64
}

// metric implements metricsSource.
func (o *operator) metric(ctx context.Context, g Gomega, prefix string) float64 {
	lines, err := ops.MetricLines(ctx, o.metricsURL, func(string) bool { return true })
	g.Expect(err).NotTo(HaveOccurred())
	return sumMetric(g, lines, prefix)
}

// sumMetric sums the samples among lines that start with prefix.
func sumMetric(g Gomega, lines []string, prefix string) float64 {
	sum := 0.0
	for _, line := range lines {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		g.Expect(err).NotTo(HaveOccurred(), line)
		sum += v
	}
	return sum
}

// podCreates is the metric prefix of the operator's successful Pod creates.
const podCreates = `workshop_podset_pod_operations_total{operation="create",result="success"}`

// freePort returns a free TCP port on the loopback interface.
func freePort() int {
	GinkgoHelper()
	port, err := proc.FreePort()
	Expect(err).NotTo(HaveOccurred())
	return port
}

// drainOnCleanup deletes every PodSet in ns and waits until they are gone,
// while the operator still runs to release their finalizers. Register it
// after startOperator so that it runs first.
func drainOnCleanup(ns string) {
	DeferCleanup(func(ctx SpecContext) {
		c := suite.Client()
		Expect(c.DeleteAllOf(ctx, &workshopv1alpha1.PodSet{}, client.InNamespace(ns))).To(Succeed())
		Eventually(func(g Gomega) {
			var list workshopv1alpha1.PodSetList
			g.Expect(c.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})
}

// newPodSet returns a valid PodSet of n replicas.
func newPodSet(ns, name string, n int32) *workshopv1alpha1.PodSet {
	return &workshopv1alpha1.PodSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: workshopv1alpha1.PodSetSpec{
			Replicas: ptr.To(n),
			Selector: workshopv1alpha1.PodSetSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// runningPods returns the names of the PodSet's pods that are Running and
// not being deleted, and the total number of its pods.
func runningPods(ctx context.Context, g Gomega, ps *workshopv1alpha1.PodSet) (running []string, total int) {
	var pods corev1.PodList
	g.Expect(suite.Client().List(ctx, &pods, client.InNamespace(ps.Namespace),
		client.MatchingLabels{workshopv1alpha1.PodSetLabel: ps.Name})).To(Succeed())
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			running = append(running, p.Name)
		}
	}
	return running, len(pods.Items)
}

// scalePodSet sets spec.replicas (retrying on conflicts) and waits until
// the PodSet has converged to n pods.
func scalePodSet(ctx context.Context, ps *workshopv1alpha1.PodSet, n int32) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var cur workshopv1alpha1.PodSet
		g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
		cur.Spec.Replicas = ptr.To(n)
		g.Expect(suite.Client().Update(ctx, &cur)).To(Succeed())
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	expectConverged(ctx, ps, int(n))
}

// expectConverged waits until the PodSet has exactly n pods, all Running,
// and reports Available=True for its current generation.
func expectConverged(ctx context.Context, ps *workshopv1alpha1.PodSet, n int) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		running, total := runningPods(ctx, g, ps)
		g.Expect(running).To(HaveLen(n), "running pods")
		g.Expect(total).To(Equal(n), "all pods")
		var cur workshopv1alpha1.PodSet
		g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
		g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
		g.Expect(cur.Status.ReadyReplicas).To(BeEquivalentTo(n))
		avail := meta.FindStatusCondition(cur.Status.Conditions, workshopv1alpha1.ConditionAvailable)
		g.Expect(avail).NotTo(BeNil())
		g.Expect(avail.Status).To(Equal(metav1.ConditionTrue))
	}).WithContext(ctx).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
}

// kubectl runs the pinned kubectl against the shared cluster.
func kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, suite.Kubectl(), append([]string{"--kubeconfig", suite.Kubeconfig()}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}
