//go:build e2e

package e2e

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// leaseName is the operator's LeaderElectionID.
const leaseName = "podset-operator.workshop.example.com"

// leading is the metric controller-runtime sets to 1 while a process holds
// the Lease.
const leading = `leader_election_master_status{name="` + leaseName + `"}`

var _ = Describe("two operator processes with --leader-elect", Ordered, Serial, func() {
	var (
		ns     string
		first  *operator
		second *operator
		ps     *workshopv1alpha1.PodSet
	)
	// Short timings so that a hand-over after a crash takes seconds, not
	// the default 15 s lease.
	leaderArgs := func() []string {
		return []string{
			"--leader-elect", "--leader-election-namespace", ns,
			"--leader-elect-lease-duration", "4s",
			"--leader-elect-renew-deadline", "3s",
			"--leader-elect-retry-period", "500ms",
		}
	}
	// holder is the identity in the Lease: the leader's hostname plus a
	// random suffix, different for each process.
	holder := func(ctx context.Context, g Gomega) string {
		var lease coordinationv1.Lease
		g.Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: leaseName}, &lease)).To(Succeed())
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}
	var firstIdentity string

	BeforeAll(func(ctx SpecContext) {
		bin := prepare(ctx)
		ns = suite.NewNamespace(ctx, "leader")

		By("starting the first process and waiting until it holds the Lease")
		first = startOperator(bin, leaderArgs()...)
		first.waitReady(ctx)
		Eventually(func(g Gomega) {
			firstIdentity = holder(ctx, g)
			g.Expect(firstIdentity).NotTo(BeEmpty())
			g.Expect(first.metric(ctx, g, leading)).To(Equal(1.0))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		By("starting the second process: it runs, but does not lead")
		second = startOperator(bin, leaderArgs()...)
		second.waitReady(ctx)
		drainOnCleanup(ns)
		ps = newPodSet(ns, "led", 2)
	})

	It("lets only the leader reconcile", func(ctx SpecContext) {
		Expect(suite.Client().Create(ctx, ps)).To(Succeed())
		expectConverged(ctx, ps, 2)
		Eventually(func(g Gomega) {
			g.Expect(first.metric(ctx, g, podCreates)).To(Equal(2.0))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(second.metric(ctx, g, podCreates)).To(BeZero())
			g.Expect(second.metric(ctx, g, leading)).To(BeZero())
			g.Expect(holder(ctx, g)).To(Equal(firstIdentity))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("hands over to the other process when the leader is killed", func(ctx SpecContext) {
		By("killing the leader with SIGKILL: it cannot release the Lease")
		first.Kill()
		Eventually(first).Should(gexec.Exit())

		By("waiting for the second process to take the Lease once it expires")
		Eventually(func(g Gomega) {
			g.Expect(holder(ctx, g)).NotTo(Equal(firstIdentity))
			g.Expect(second.metric(ctx, g, leading)).To(Equal(1.0))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		By("scaling up: the new leader does the work")
		Eventually(func(g Gomega) {
			var cur workshopv1alpha1.PodSet
			g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			cur.Spec.Replicas = ptr.To[int32](3)
			g.Expect(suite.Client().Update(ctx, &cur)).To(Succeed())
		}).WithContext(ctx).Should(Succeed())
		expectConverged(ctx, ps, 3)
		Eventually(func(g Gomega) {
			g.Expect(second.metric(ctx, g, podCreates)).To(BeNumerically(">=", 1))
		}).WithContext(ctx).Should(Succeed())
	})
})
