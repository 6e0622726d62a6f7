//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/internal/controller"
)

var _ = Describe("the PodSet operator (in-cluster where nodes run images, else a process)", Ordered, Serial, func() {
	var (
		ns  string
		op  metricsSource
		web *workshopv1alpha1.PodSet
	)

	BeforeAll(func(ctx SpecContext) {
		ns = suite.NewNamespace(ctx, "ops")
		if inCluster() {
			deployInCluster(ctx)
			By("reading its metrics through the metrics Service with a metrics-reader token")
			op = metricsOf(ctx, "", scraper(ctx, ns))
		} else {
			bin := prepare(ctx)
			By("starting the operator and waiting until /readyz says its caches have synced")
			p := startOperator(bin)
			p.waitReady(ctx)
			op = p
		}
		drainOnCleanup(ns)
		web = newPodSet(ns, "web", 3)
	})

	It("brings a PodSet of 3 to 3 Running pods and Available=True", func(ctx SpecContext) {
		Expect(suite.Client().Create(ctx, web)).To(Succeed())
		expectConverged(ctx, web, 3)
	})

	It("scales up and down when spec.replicas changes", func(ctx SpecContext) {
		for _, n := range []int32{5, 2} {
			By(fmt.Sprintf("setting spec.replicas to %d", n))
			scalePodSet(ctx, web, n)
		}
	})

	It("scales with kubectl scale through the scale subresource and shows the printer columns", func(ctx SpecContext) {
		out, err := kubectl(ctx, "", "-n", ns, "scale", "podset/web", "--replicas=4")
		Expect(err).NotTo(HaveOccurred(), out)
		expectConverged(ctx, web, 4)

		out, err = kubectl(ctx, "", "-n", ns, "get", "ps", "web")
		Expect(err).NotTo(HaveOccurred(), out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "DESIRED", "READY", "AVAILABLE", "AGE"}))
		Expect(strings.Fields(lines[1])[:4]).To(Equal([]string{"web", "4", "4", "True"}))
	})

	// START recreate OMIT
	It("re-creates a pod deleted behind its back", func(ctx SpecContext) {
		var running []string
		Eventually(func(g Gomega) {
			running, _ = runningPods(ctx, g, web)
			g.Expect(running).To(HaveLen(4))
		}).WithContext(ctx).Should(Succeed())
		victim := &corev1.Pod{}
		victim.Namespace, victim.Name = ns, running[0]
		Expect(suite.Client().Delete(ctx, victim)).To(Succeed())

		Eventually(func(g Gomega) {
			now, total := runningPods(ctx, g, web)
			g.Expect(now).To(HaveLen(4))
			g.Expect(total).To(Equal(4))
			g.Expect(now).NotTo(ContainElement(victim.Name))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})
	// END recreate OMIT

	It("exports the managed-pods gauge on the metrics endpoint", func(ctx SpecContext) {
		gauge := fmt.Sprintf(`workshop_podset_managed_pods{namespace="%s",podset="web"}`, ns)
		Eventually(func(g Gomega) {
			g.Expect(op.metric(ctx, g, gauge)).To(Equal(4.0))
			g.Expect(op.metric(ctx, g, `controller_runtime_reconcile_total{controller="podset"`)).To(BeNumerically(">", 0))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})

	It("rejects invalid PodSets with the CEL messages", func(ctx SpecContext) {
		By("kubectl apply of a PodSet whose selector does not match its template")
		out, err := kubectl(ctx, `apiVersion: workshop.example.com/v1alpha1
kind: PodSet
metadata:
  name: mismatched
spec:
  replicas: 1
  selector:
    matchLabels: {app: one}
  template:
    metadata:
      labels: {app: two}
    spec:
      containers: [{name: main, image: registry.k8s.io/pause:3.10}]
`, "-n", ns, "apply", "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("every label in spec.selector.matchLabels must appear with the same value in spec.template.metadata.labels"))

		By("too many replicas")
		tooMany := newPodSet(ns, "huge", 1)
		tooMany.Spec.Replicas = ptr.To[int32](1000)
		err = suite.Client().Create(ctx, tooMany)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.replicas in body should be less than or equal to 100"))

		By("changing the selector")
		Eventually(func(g Gomega) {
			var cur workshopv1alpha1.PodSet
			g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(web), &cur)).To(Succeed())
			cur.Spec.Selector.MatchLabels = map[string]string{"app": "web", "tier": "x"}
			cur.Spec.Template.Labels = map[string]string{"app": "web", "tier": "x"}
			err := suite.Client().Update(ctx, &cur)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
			g.Expect(err.Error()).To(ContainSubstring("spec.selector is immutable"))
		}).WithContext(ctx).Should(Succeed())

		By("an OperatorConfig not named singleton")
		out, err = kubectl(ctx, "apiVersion: workshop.example.com/v1alpha1\nkind: OperatorConfig\nmetadata:\n  name: mine\n", "apply", "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("must be named 'singleton'"))
	})

	It("deletes its record when the PodSet is deleted; the garbage collector deletes the pods", func(ctx SpecContext) {
		record := client.ObjectKey{Namespace: controller.DefaultRecordNamespace, Name: controller.RecordName(web)}
		Expect(suite.Client().Get(ctx, record, &corev1.ConfigMap{})).To(Succeed())
		var createsBefore float64
		Eventually(func(g Gomega) { createsBefore = op.metric(ctx, g, podCreates) }).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		Expect(suite.Client().Delete(ctx, web)).To(Succeed())
		Eventually(func(g Gomega) {
			err := suite.Client().Get(ctx, client.ObjectKeyFromObject(web), &workshopv1alpha1.PodSet{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "PodSet still there: %v", err)
			err = suite.Client().Get(ctx, record, &corev1.ConfigMap{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "record still there: %v", err)
			_, total := runningPods(ctx, g, web)
			g.Expect(total).To(BeZero())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(op.metric(ctx, g, podCreates)).To(Equal(createsBefore), "the operator must not re-create pods of a deleted PodSet")
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
	})
})
