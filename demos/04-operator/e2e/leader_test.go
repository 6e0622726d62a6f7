//go:build e2e

package e2e

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// leaseName is the operator's LeaderElectionID.
const leaseName = "podset-operator.workshop.example.com"

var _ = Describe("two operator processes with --leader-elect", Ordered, Serial, func() {
	var (
		ns     string
		first  *gexec.Session
		second *gexec.Session
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
	holder := func(ctx context.Context) string {
		var lease coordinationv1.Lease
		Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: leaseName}, &lease)).To(Succeed())
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}
	var firstIdentity string

	BeforeAll(func(ctx SpecContext) {
		bin := prepare(ctx)
		ns = suite.NewNamespace(ctx, "leader")

		By("starting the first process and waiting until it leads")
		first = startOperator(bin, leaderArgs()...)
		Eventually(first.Err).WithTimeout(time.Minute).Should(gbytes.Say(`(?i)successfully acquired lease`))
		firstIdentity = holder(ctx)
		Expect(firstIdentity).NotTo(BeEmpty())

		By("starting the second process")
		second = startOperator(bin, leaderArgs()...)
		Eventually(second.Err).WithTimeout(time.Minute).Should(gbytes.Say(`(?i)attempting to acquire leader lease`))
		drainOnCleanup(ns)
		ps = newPodSet(ns, "led", 2)
	})

	It("lets only the leader reconcile", func(ctx SpecContext) {
		Expect(suite.Client().Create(ctx, ps)).To(Succeed())
		expectConverged(ctx, ps, 2)
		Expect(first.Err).To(gbytes.Say("created pod"))
		Consistently(second.Err.Contents).WithTimeout(2 * time.Second).ShouldNot(ContainSubstring("created pod"))
		Expect(strings.ToLower(string(second.Err.Contents()))).NotTo(ContainSubstring("successfully acquired lease"))
	})

	It("hands over to the other process when the leader is killed", func(ctx SpecContext) {
		By("killing the leader with SIGKILL: it cannot release the Lease")
		first.Kill()
		Eventually(first).Should(gexec.Exit())

		By("waiting for the second process to take the Lease once it expires")
		Eventually(second.Err).WithTimeout(time.Minute).Should(gbytes.Say(`(?i)successfully acquired lease`))
		Expect(holder(ctx)).NotTo(Equal(firstIdentity))

		By("scaling up: the new leader does the work")
		Eventually(func(g Gomega) {
			var cur workshopv1alpha1.PodSet
			g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(ps), &cur)).To(Succeed())
			cur.Spec.Replicas = ptr.To[int32](3)
			g.Expect(suite.Client().Update(ctx, &cur)).To(Succeed())
		}).WithContext(ctx).Should(Succeed())
		expectConverged(ctx, ps, 3)
		Expect(second.Err).To(gbytes.Say("created pod"))
	})
})
