//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
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

// startOperator runs the operator binary against the shared cluster and
// stops it with SIGTERM when the current container ends. Metrics and probes
// are off unless args turn them on.
func startOperator(bin string, args ...string) *gexec.Session {
	all := append([]string{
		"--kubeconfig", suite.Kubeconfig(),
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
		"--zap-log-level", "info",
	}, args...)
	session, err := gexec.Start(exec.Command(bin, all...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		session.Terminate()
		Eventually(session).WithTimeout(30 * time.Second).Should(gexec.Exit())
	})
	return session
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
