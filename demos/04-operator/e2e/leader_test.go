//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
)

// leaseName is the operator's LeaderElectionID.
const leaseName = ops.LeaseName

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
		return append([]string{"--leader-elect", "--leader-election-namespace", ns}, e2eLeaderArgs...)
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
		if inCluster() {
			// The processes would share the PodSets with the in-cluster
			// operator: pause it (scale to 0) while they run.
			deployInCluster(ctx)
			By("pausing the in-cluster operator: scaling its Deployment to 0")
			scaleDeployment(ctx, 0)
			DeferCleanup(func(ctx SpecContext) { scaleDeployment(ctx, 1) })
		}
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
		scalePodSet(ctx, ps, 3)
		Eventually(func(g Gomega) {
			g.Expect(second.metric(ctx, g, podCreates)).To(BeNumerically(">=", 1))
		}).WithContext(ctx).Should(Succeed())
	})
})

var _ = Describe("two replicas of the in-cluster Deployment with leader election", Ordered, Serial, func() {
	var (
		ns                         string
		token                      string
		ps                         *workshopv1alpha1.PodSet
		leader, follower           string
		leaderMetrics, followerMet *podMetrics
	)
	// holder is the pod named in the Lease: controller-runtime's identity
	// is the pod's hostname (its name), "_", and a random suffix.
	holder := func(ctx context.Context, g Gomega) string {
		var lease coordinationv1.Lease
		g.Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: ops.Namespace, Name: leaseName}, &lease)).To(Succeed())
		pod, _, _ := strings.Cut(ptr.Deref(lease.Spec.HolderIdentity, ""), "_")
		return pod
	}

	BeforeAll(func(ctx SpecContext) {
		if !inCluster() {
			Skip(fmt.Sprintf("needs pods that run the operator's image: the %s provider cannot (%s)", providerName(), mode.why))
		}
		deployInCluster(ctx)
		ns = suite.NewNamespace(ctx, "replicas")
		token = scraper(ctx, ns)
		By("scaling the Deployment to 2 replicas")
		scaleDeployment(ctx, 2)
		DeferCleanup(func(ctx SpecContext) { scaleDeployment(ctx, 1) })
		drainOnCleanup(ns)
		ps = newPodSet(ns, "led", 2)

		By("finding the leader from the Lease's holderIdentity")
		Eventually(func(g Gomega) {
			pods := operatorPods(ctx, g)
			g.Expect(pods).To(HaveLen(2))
			leader = holder(ctx, g)
			g.Expect(pods).To(ContainElement(leader))
			follower = pods[0]
			if follower == leader {
				follower = pods[1]
			}
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		By("forwarding a port to each pod's endpoint of the metrics Service")
		leaderMetrics, followerMet = metricsOf(ctx, leader, token), metricsOf(ctx, follower, token)
	})

	It("lets only the pod holding the Lease reconcile", func(ctx SpecContext) {
		Expect(suite.Client().Create(ctx, ps)).To(Succeed())
		expectConverged(ctx, ps, 2)
		Eventually(func(g Gomega) {
			g.Expect(leaderMetrics.metric(ctx, g, leading)).To(Equal(1.0))
			g.Expect(leaderMetrics.metric(ctx, g, podCreates)).To(BeNumerically(">=", 2))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(followerMet.metric(ctx, g, leading)).To(BeZero())
			g.Expect(followerMet.metric(ctx, g, podCreates)).To(BeZero())
			g.Expect(holder(ctx, g)).To(Equal(leader))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("moves the Lease to another pod when the leader's pod is deleted, and PodSets keep reconciling", func(ctx SpecContext) {
		By("deleting the leader's pod " + leader)
		start := time.Now()
		Expect(suite.Client().Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ops.Namespace, Name: leader}})).To(Succeed())

		// On SIGTERM the leader releases the Lease. The surviving replica
		// usually takes it within a retry period, but the ReplicaSet's
		// replacement pod starts within about a second (its image is on
		// the node) and may win the race: either is a correct hand-over.
		By("waiting for the Lease to name a live pod other than " + leader)
		var newLeader string
		Eventually(func(g Gomega) {
			newLeader = holder(ctx, g)
			g.Expect(newLeader).NotTo(BeEmpty())
			g.Expect(newLeader).NotTo(Equal(leader))
			g.Expect(operatorPods(ctx, g)).To(ContainElement(newLeader))
		}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
		who := "the surviving replica"
		newMetrics := followerMet
		if newLeader != follower {
			who = "the ReplicaSet's replacement pod"
			newMetrics = metricsOf(ctx, newLeader, token)
		}
		AddReportEntry("Lease handed over", fmt.Sprintf("after %s to %s (%s)", time.Since(start).Round(100*time.Millisecond), newLeader, who))
		Eventually(func(g Gomega) {
			g.Expect(newMetrics.metric(ctx, g, leading)).To(Equal(1.0))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		By("scaling the PodSet up: the new leader does the work")
		scalePodSet(ctx, ps, 3)
		Eventually(func(g Gomega) {
			g.Expect(newMetrics.metric(ctx, g, podCreates)).To(BeNumerically(">=", 1))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})
})
