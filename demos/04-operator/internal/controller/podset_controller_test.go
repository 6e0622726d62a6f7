package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// newNamespace creates a namespace for one spec and deletes it afterwards.
// (Without a namespace controller the namespace only turns Terminating, but
// its name is never reused.)
func newNamespace(ctx SpecContext) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "podset-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ns))).To(Succeed())
	})
	return ns.Name
}

// newPodSet returns a valid PodSet; mutate it before creating it.
func newPodSet(ns, name string, replicas int32) *workshopv1alpha1.PodSet {
	return &workshopv1alpha1.PodSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: workshopv1alpha1.PodSetSpec{
			Replicas: ptr.To(replicas),
			Selector: workshopv1alpha1.PodSetSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name, "tier": "demo"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// podsOf lists the PodSet's Pods straight from the API server, oldest first.
func podsOf(ctx context.Context, g Gomega, ps *workshopv1alpha1.PodSet) []corev1.Pod {
	var list corev1.PodList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ps.Namespace),
		client.MatchingLabels{workshopv1alpha1.PodSetLabel: ps.Name})).To(Succeed())
	sort.Slice(list.Items, func(i, j int) bool {
		return list.Items[i].CreationTimestamp.Before(&list.Items[j].CreationTimestamp)
	})
	return list.Items
}

func podNames(pods []corev1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// markReady plays the kubelet: every Pod of ps becomes Running and Ready.
func markReady(ctx context.Context, g Gomega, ps *workshopv1alpha1.PodSet) {
	for _, p := range podsOf(ctx, g, ps) {
		if p.DeletionTimestamp != nil || isPodReady(&p) {
			continue
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
		g.Expect(k8sClient.Status().Update(ctx, &p)).To(Succeed())
	}
}

// condition fetches the PodSet and returns one of its conditions.
func condition(ctx context.Context, g Gomega, ps *workshopv1alpha1.PodSet, typ string) *metav1.Condition {
	var cur workshopv1alpha1.PodSet
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
	c := meta.FindStatusCondition(cur.Status.Conditions, typ)
	g.Expect(c).NotTo(BeNil(), "condition %s not set yet", typ)
	return c
}

// haveCondition matches a condition's status and reason.
func haveCondition(status metav1.ConditionStatus, reason string) OmegaMatcher {
	return And(
		HaveField("Status", status),
		HaveField("Reason", reason),
	)
}

// scaleTo changes spec.replicas through the scale subresource, as
// `kubectl scale` does, retrying when the reconciler wrote in between.
func scaleTo(ctx context.Context, ps *workshopv1alpha1.PodSet, n int32) error {
	var err error
	Eventually(func(g Gomega) {
		scale := &autoscalingv1.Scale{}
		g.Expect(k8sClient.SubResource("scale").Get(ctx, ps, scale)).To(Succeed())
		scale.Spec.Replicas = n
		err = k8sClient.SubResource("scale").Update(ctx, ps, client.WithSubResourceBody(scale))
		g.Expect(apierrors.IsConflict(err)).To(BeFalse(), "conflict: %v", err)
	}).Should(Succeed())
	return err
}

var _ = Describe("PodSet reconciler", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("creates owned pods, reports status and conditions, and records events", func(ctx SpecContext) {
		ps := newPodSet(ns, "web", 3)
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())

		By("creating three pods with labels, owner references and generated names")
		Eventually(func(g Gomega) {
			pods := podsOf(ctx, g, ps)
			g.Expect(pods).To(HaveLen(3))
			for _, p := range pods {
				g.Expect(p.Labels).To(Equal(map[string]string{"app": "web", "tier": "demo", workshopv1alpha1.PodSetLabel: "web"}))
				g.Expect(p.Name).To(HavePrefix("web-"))
				ref := metav1.GetControllerOf(&p)
				g.Expect(ref).NotTo(BeNil())
				g.Expect(ref.Kind).To(Equal("PodSet"))
				g.Expect(ref.Name).To(Equal("web"))
			}
		}).Should(Succeed())

		By("writing the record, adding the finalizer, and reporting pods that are not ready yet")
		Eventually(func(g Gomega) {
			var record corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: recordNamespace, Name: ns + ".web"}, &record)).To(Succeed())
			g.Expect(record.Data).To(HaveKeyWithValue("namespace", ns))
			g.Expect(record.Labels).To(HaveKeyWithValue(workshopv1alpha1.RecordNameLabel, "web"))
			var cur workshopv1alpha1.PodSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			g.Expect(cur.Finalizers).To(ContainElement(workshopv1alpha1.RecordFinalizer))
			g.Expect(cur.Status.Replicas).To(BeEquivalentTo(3))
			g.Expect(cur.Status.ReadyReplicas).To(BeEquivalentTo(0))
			g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
			g.Expect(cur.Status.Selector).To(Equal("app=web," + workshopv1alpha1.PodSetLabel + "=web"))
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionAvailable)).To(haveCondition(metav1.ConditionFalse, ReasonInsufficientReadyPods))
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionProgressing)).To(haveCondition(metav1.ConditionTrue, ReasonWaitingForReadyPods))
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionDegraded)).To(haveCondition(metav1.ConditionFalse, ReasonAsExpected))
		}).Should(Succeed())

		By("turning Available once the kubelet (here: the test) reports the pods Ready")
		Eventually(func(g Gomega) {
			markReady(ctx, g, ps)
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionAvailable)).To(haveCondition(metav1.ConditionTrue, ReasonMinimumReplicasReady))
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionProgressing)).To(haveCondition(metav1.ConditionFalse, ReasonComplete))
		}).Should(Succeed())

		By("exporting the number of managed pods as a gauge")
		Eventually(func() float64 {
			return testutil.ToFloat64(managedPods.WithLabelValues(ns, "web"))
		}).Should(BeEquivalentTo(3))

		By("recording an event for every pod it created")
		Eventually(func(g Gomega) {
			var evs eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			created := 0
			for _, e := range evs.Items {
				if e.Regarding.Name == "web" && e.Regarding.Kind == "PodSet" && e.Reason == "Created" {
					created++
				}
			}
			g.Expect(created).To(Equal(3))
		}).Should(Succeed())
	})

	It("scales up and down through spec and the scale subresource, deleting the newest pods first", func(ctx SpecContext) {
		ps := newPodSet(ns, "scaled", 2)
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		var original []string
		Eventually(func(g Gomega) {
			pods := podsOf(ctx, g, ps)
			g.Expect(pods).To(HaveLen(2))
			original = podNames(pods)
		}).Should(Succeed())

		By("waiting until new pods are sure to get a later creationTimestamp (it has one-second resolution)")
		first := podsOf(ctx, Default, ps)[1].CreationTimestamp.Time
		Eventually(func() time.Time { return time.Now() }).Should(BeTemporally(">", first.Add(1100*time.Millisecond)))

		By("scaling up to 4 through the scale subresource")
		Expect(scaleTo(ctx, ps, 4)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(podsOf(ctx, g, ps)).To(HaveLen(4))
			var cur workshopv1alpha1.PodSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			g.Expect(cur.Spec.Replicas).To(HaveValue(BeEquivalentTo(4)))
			g.Expect(cur.Status.Replicas).To(BeEquivalentTo(4))
			g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
		}).Should(Succeed())

		scale := &autoscalingv1.Scale{}
		Expect(k8sClient.SubResource("scale").Get(ctx, ps, scale)).To(Succeed())
		Expect(scale.Status.Replicas).To(BeEquivalentTo(4))
		Expect(scale.Status.Selector).To(Equal("app=scaled," + workshopv1alpha1.PodSetLabel + "=scaled"))

		By("scaling down to 2 by editing spec.replicas: the two new pods go")
		var cur workshopv1alpha1.PodSet
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
		cur.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Update(ctx, &cur)).To(Succeed())
		Eventually(func(g Gomega) []string { return podNames(podsOf(ctx, g, ps)) }).Should(ConsistOf(original))

		By("scaling to zero")
		Expect(scaleTo(ctx, ps, 0)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(podsOf(ctx, g, ps)).To(BeEmpty()) }).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionAvailable)).To(haveCondition(metav1.ConditionTrue, ReasonMinimumReplicasReady))
		}).Should(Succeed())
	})

	It("re-creates a pod deleted behind its back", func(ctx SpecContext) {
		ps := newPodSet(ns, "healer", 2)
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		var victim corev1.Pod
		Eventually(func(g Gomega) {
			pods := podsOf(ctx, g, ps)
			g.Expect(pods).To(HaveLen(2))
			victim = pods[0]
		}).Should(Succeed())

		Expect(k8sClient.Delete(ctx, &victim)).To(Succeed())
		Eventually(func(g Gomega) {
			names := podNames(podsOf(ctx, g, ps))
			g.Expect(names).To(HaveLen(2))
			g.Expect(names).NotTo(ContainElement(victim.Name))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(podsOf(ctx, g, ps)).To(HaveLen(2)) }).Should(Succeed())
	})

	It("deletes its record when the PodSet is deleted and leaves the pods to the garbage collector", func(ctx SpecContext) {
		ps := newPodSet(ns, "released", 2)
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		record := client.ObjectKey{Namespace: recordNamespace, Name: RecordName(ps)}
		var pods []corev1.Pod
		Eventually(func(g Gomega) {
			pods = podsOf(ctx, g, ps)
			g.Expect(pods).To(HaveLen(2))
			g.Expect(k8sClient.Get(ctx, record, &corev1.ConfigMap{})).To(Succeed())
			var cur workshopv1alpha1.PodSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			g.Expect(cur.Finalizers).To(ContainElement(workshopv1alpha1.RecordFinalizer))
		}).Should(Succeed())

		By("deleting the PodSet: the finalizer goes once the record is gone")
		Expect(k8sClient.Delete(ctx, ps)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &workshopv1alpha1.PodSet{})
		}).Should(Satisfy(apierrors.IsNotFound))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, record, &corev1.ConfigMap{}))).To(BeTrue(), "record still there")

		By("leaving the pods alone: their ownerReference lets the garbage collector (not running in envtest) delete them")
		Consistently(func(g Gomega) {
			left := podsOf(ctx, g, ps)
			g.Expect(podNames(left)).To(ConsistOf(podNames(pods)))
			for _, p := range left {
				g.Expect(p.DeletionTimestamp).To(BeNil())
				ref := metav1.GetControllerOf(&p)
				g.Expect(ref).NotTo(BeNil())
				g.Expect(ref.UID).To(Equal(ps.UID))
				g.Expect(ref.BlockOwnerDeletion).To(HaveValue(BeTrue()))
			}
		}).Should(Succeed())
	})

	It("leaves pods alone that carry its labels but that it does not control", func(ctx SpecContext) {
		ps := newPodSet(ns, "picky", 2)
		By("creating a look-alike pod first, with every label the PodSet's pods get")
		stray := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stray", Labels: ps.PodLabels()},
			Spec:       *ps.Spec.Template.Spec.DeepCopy(),
		}
		stray.Labels["tier"] = "demo"
		Expect(k8sClient.Create(ctx, stray)).To(Succeed())
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())

		By("creating two pods of its own all the same, and counting only those")
		Eventually(func(g Gomega) {
			var owned []string
			for _, p := range podsOf(ctx, g, ps) {
				if metav1.IsControlledBy(&p, ps) {
					owned = append(owned, p.Name)
				}
			}
			g.Expect(owned).To(HaveLen(2))
			var cur workshopv1alpha1.PodSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			g.Expect(cur.Status.Replicas).To(BeEquivalentTo(2))
		}).Should(Succeed())

		By("scaling to zero: its own pods go, the look-alike stays and is never adopted")
		Expect(scaleTo(ctx, ps, 0)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(podNames(podsOf(ctx, g, ps))).To(Equal([]string{"stray"})) }).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(stray), stray)).To(Succeed())
			g.Expect(stray.DeletionTimestamp).To(BeNil())
			g.Expect(stray.OwnerReferences).To(BeEmpty())
		}).Should(Succeed())
	})

	It("creates exactly spec.replicas pods while its cache lags behind its own creates", func(ctx SpecContext) {
		// The expectations, not their expiry, are under test here.
		reconciler.expectations.setTTL(time.Minute)
		DeferCleanup(func() { reconciler.expectations.setTTL(5 * time.Second) })
		// START stale OMIT
		By("freezing the reconciler's view of the namespace's pods: it sees none, whatever it creates")
		lagging.freeze(ctx, ns)
		DeferCleanup(func() { lagging.thaw(ns) })

		ps := newPodSet(ns, "stale", 3)
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(podsOf(ctx, g, ps)).To(HaveLen(3)) }).Should(Succeed())
		// END stale OMIT

		By("making it reconcile again and again with the stale view")
		before := lagging.staleReads(ns)
		for i := range 5 {
			Eventually(func(g Gomega) {
				var cur workshopv1alpha1.PodSet
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
				if cur.Annotations == nil {
					cur.Annotations = map[string]string{}
				}
				cur.Annotations["test.example.com/poke"] = fmt.Sprint(i)
				g.Expect(k8sClient.Update(ctx, &cur)).To(Succeed())
			}).Should(Succeed())
		}
		Eventually(func() int { return lagging.staleReads(ns) - before }).Should(BeNumerically(">=", 5))
		Expect(podsOf(ctx, Default, ps)).To(HaveLen(3), "the expectations must keep it from creating more")

		By("letting the cache catch up: still exactly three")
		lagging.thaw(ns)
		Consistently(func(g Gomega) { g.Expect(podsOf(ctx, g, ps)).To(HaveLen(3)) }).Should(Succeed())
	})

	It("honours the OperatorConfig's replica cap and default image, and reacts when it changes", func(ctx SpecContext) {
		config := &workshopv1alpha1.OperatorConfig{
			ObjectMeta: metav1.ObjectMeta{Name: workshopv1alpha1.OperatorConfigName},
			Spec: workshopv1alpha1.OperatorConfigSpec{
				MaxReplicasPerPodSet: ptr.To[int32](2),
				DefaultImage:         "registry.k8s.io/pause:3.10",
			},
		}
		Expect(k8sClient.Create(ctx, config)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, config))).To(Succeed())
		})

		ps := newPodSet(ns, "capped", 4)
		ps.Spec.Template.Spec.Containers[0].Image = ""
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())

		By("creating only two pods, with the default image, and reporting the limit")
		Eventually(func(g Gomega) {
			pods := podsOf(ctx, g, ps)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(p.Spec.Containers[0].Image).To(Equal("registry.k8s.io/pause:3.10"))
			}
			deg := condition(ctx, g, ps, workshopv1alpha1.ConditionDegraded)
			g.Expect(deg).To(haveCondition(metav1.ConditionTrue, ReasonLimitedByOperatorConfig))
			g.Expect(deg.Message).To(ContainSubstring("at most 2"))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(podsOf(ctx, g, ps)).To(HaveLen(2)) }).Should(Succeed())

		By("raising the cap: the watch on OperatorConfig triggers a reconcile")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(config), config)).To(Succeed())
			config.Spec.MaxReplicasPerPodSet = ptr.To[int32](10)
			g.Expect(k8sClient.Update(ctx, config)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(podsOf(ctx, g, ps)).To(HaveLen(4))
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionDegraded)).To(haveCondition(metav1.ConditionFalse, ReasonAsExpected))
		}).Should(Succeed())
	})

	It("reports a pod it cannot create as Degraded and keeps retrying", func(ctx SpecContext) {
		ps := newPodSet(ns, "noimage", 1)
		ps.Spec.Template.Spec.Containers[0].Image = "" // no OperatorConfig default: the API server rejects the Pod
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		Eventually(func(g Gomega) {
			deg := condition(ctx, g, ps, workshopv1alpha1.ConditionDegraded)
			g.Expect(deg).To(haveCondition(metav1.ConditionTrue, ReasonPodCreateFailed))
			g.Expect(deg.Message).To(ContainSubstring("image"))
		}).Should(Succeed())
		Expect(podsOf(ctx, Default, ps)).To(BeEmpty())

		By("fixing the template: the next retry succeeds")
		Eventually(func(g Gomega) {
			var cur workshopv1alpha1.PodSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			cur.Spec.Template.Spec.Containers[0].Image = "registry.k8s.io/pause:3.10"
			g.Expect(k8sClient.Update(ctx, &cur)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(podsOf(ctx, g, ps)).To(HaveLen(1))
			g.Expect(condition(ctx, g, ps, workshopv1alpha1.ConditionDegraded)).To(haveCondition(metav1.ConditionFalse, ReasonAsExpected))
		}).Should(Succeed())
	})
})

var _ = Describe("PodSet and OperatorConfig validation (OpenAPI bounds and CEL rules in the CRDs)", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("defaults spec.replicas to 1", func(ctx SpecContext) {
		ps := newPodSet(ns, "defaulted", 0)
		ps.Spec.Replicas = nil
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		Expect(ps.Spec.Replicas).To(HaveValue(BeEquivalentTo(1)))
	})

	DescribeTable("rejects an invalid PodSet with a message a user understands",
		func(ctx SpecContext, mutate func(*workshopv1alpha1.PodSet), message string) {
			ps := newPodSet(ns, "invalid", 1)
			mutate(ps)
			err := k8sClient.Create(ctx, ps)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("replicas above 100", func(ps *workshopv1alpha1.PodSet) { ps.Spec.Replicas = ptr.To[int32](101) },
			"spec.replicas in body should be less than or equal to 100"),
		Entry("negative replicas", func(ps *workshopv1alpha1.PodSet) { ps.Spec.Replicas = ptr.To[int32](-1) },
			"spec.replicas in body should be greater than or equal to 0"),
		Entry("selector label missing from the template", func(ps *workshopv1alpha1.PodSet) {
			ps.Spec.Selector.MatchLabels["extra"] = "x"
		}, "every label in spec.selector.matchLabels must appear with the same value in spec.template.metadata.labels"),
		Entry("selector label with another value in the template", func(ps *workshopv1alpha1.PodSet) {
			ps.Spec.Template.Labels["app"] = "other"
		}, "every label in spec.selector.matchLabels must appear with the same value in spec.template.metadata.labels"),
		Entry("template without labels", func(ps *workshopv1alpha1.PodSet) { ps.Spec.Template.Labels = nil },
			"every label in spec.selector.matchLabels must appear with the same value in spec.template.metadata.labels"),
		Entry("empty selector", func(ps *workshopv1alpha1.PodSet) { ps.Spec.Selector.MatchLabels = map[string]string{} },
			"spec.selector.matchLabels in body should have at least 1 properties"),
		Entry("the operator's own label in the selector", func(ps *workshopv1alpha1.PodSet) {
			ps.Spec.Selector.MatchLabels[workshopv1alpha1.PodSetLabel] = "x"
			ps.Spec.Template.Labels[workshopv1alpha1.PodSetLabel] = "x"
		}, "the operator adds that label itself"),
		Entry("a name too long for a label value", func(ps *workshopv1alpha1.PodSet) { ps.Name = strings.Repeat("n", 64) },
			"the name must fit a label value: at most 63 characters"),
		Entry("missing selector", func(ps *workshopv1alpha1.PodSet) { ps.Spec.Selector.MatchLabels = nil },
			"spec.selector.matchLabels: Required value"),
		Entry("too many selector labels", func(ps *workshopv1alpha1.PodSet) {
			for i := range 17 {
				k := fmt.Sprintf("l%d", i)
				ps.Spec.Selector.MatchLabels[k] = "x"
				ps.Spec.Template.Labels[k] = "x"
			}
		}, "spec.selector.matchLabels: Too many"),
	)

	It("rejects a change of spec.selector", func(ctx SpecContext) {
		ps := newPodSet(ns, "fixed", 0)
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		Eventually(func(g Gomega) {
			var cur workshopv1alpha1.PodSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			cur.Spec.Selector.MatchLabels["tier"] = "demo"
			err := k8sClient.Update(ctx, &cur)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			g.Expect(err.Error()).To(ContainSubstring("spec.selector is immutable"))
		}).Should(Succeed())
	})

	It("rejects scaling beyond the bounds through the scale subresource", func(ctx SpecContext) {
		ps := newPodSet(ns, "bounded", 0)
		Expect(k8sClient.Create(ctx, ps)).To(Succeed())
		err := scaleTo(ctx, ps, 500)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.replicas in body should be less than or equal to 100"))
	})

	It("only accepts an OperatorConfig named singleton", func(ctx SpecContext) {
		other := &workshopv1alpha1.OperatorConfig{ObjectMeta: metav1.ObjectMeta{Name: "mine"}}
		err := k8sClient.Create(ctx, other)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(ContainSubstring("must be named 'singleton'"))
	})
})
