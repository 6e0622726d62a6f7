//go:build e2e

package nodeagente2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agent"
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agenttest"
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/nodedemo"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/demotest"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

var suite = e2e.NewSuite("node-agent")

func TestE2E(t *testing.T) { suite.Run(t) }

const (
	nodeName = "nodeagent-e2e"
	timeout  = 2 * time.Minute
)

var _ = Describe("node agent", Ordered, func() {
	var ag *agenttest.Agent
	BeforeAll(func(ctx SpecContext) { ag = agenttest.Run(ctx, suite.Clientset(), suite.Kubeconfig(), nodeName) })

	It("registers a Ready node that says what it runs, and renews its Lease", func(ctx SpecContext) {
		node, err := suite.Clientset().CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(node.Labels).To(HaveKeyWithValue("kubernetes.io/os", agent.OS))
		Expect(node.Labels).To(HaveKeyWithValue("kubernetes.io/arch", agent.Arch))
		Expect(node.Annotations).NotTo(HaveKey("kwok.x-k8s.io/node"))
		Expect(node.Spec.Taints).To(ContainElement(And(
			HaveField("Key", "kubernetes.io/arch"), HaveField("Value", agent.Arch), HaveField("Effect", corev1.TaintEffectNoSchedule))))
		Expect(node.Status.Capacity.Pods().Value()).To(BeNumerically(">", 0))
		Expect(node.Status.Allocatable.Pods().Value()).To(BeNumerically(">", 0))
		Expect(node.Status.DaemonEndpoints.KubeletEndpoint.Port).To(BeEquivalentTo(ag.Port))
		Expect(node.Status.Addresses).To(ContainElement(corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ag.NodeIP}))

		By("renewing the Lease in kube-node-lease")
		// The lease controller runs beside the status updates: the node can
		// be Ready a moment before its Lease exists.
		var lease *coordinationv1.Lease
		Eventually(func(g Gomega) {
			var err error
			lease, err = suite.Clientset().CoordinationV1().Leases("kube-node-lease").Get(ctx, nodeName, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(*lease.Spec.HolderIdentity).To(Equal(nodeName))
		Expect(lease.OwnerReferences).To(ContainElement(HaveField("UID", node.UID)))
		first := lease.Spec.RenewTime.Time
		Eventually(func(g Gomega) {
			l, err := suite.Clientset().CoordinationV1().Leases("kube-node-lease").Get(ctx, nodeName, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(l.Spec.RenewTime.Time).To(BeTemporally(">", first))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("runs a job-like pod to Succeeded, with exit code 0, timestamps and its log", func(ctx SpecContext) {
		ns := suite.Namespace()
		create(ctx, wasmPod(ns, "hello", "hello", corev1.RestartPolicyNever, "e2e"))
		p := waitPhase(ctx, ns, "hello", corev1.PodSucceeded)
		Expect(p.Spec.NodeName).To(Equal(nodeName))
		Expect(p.Status.HostIP).To(Equal(ag.NodeIP))
		Expect(p.Status.PodIP).To(Equal(ag.NodeIP))
		cs := p.Status.ContainerStatuses[0]
		Expect(cs.State.Terminated).NotTo(BeNil())
		Expect(cs.State.Terminated.ExitCode).To(BeZero())
		Expect(cs.State.Terminated.Reason).To(Equal("Completed"))
		Expect(cs.State.Terminated.FinishedAt.Time).NotTo(BeTemporally("<", cs.State.Terminated.StartedAt.Time))
		Expect(cs.ImageID).To(HavePrefix("wasm://hello@sha256:"))
		Expect(p.Status.Conditions).To(ContainElement(And(HaveField("Type", corev1.PodReady), HaveField("Reason", "PodCompleted"))))
		Expect(kubectl("logs", "-n", ns, "hello")).To(Equal("hello, e2e, from a WebAssembly module\n"))
	})

	It("passes args, env, ConfigMap values and a ConfigMap volume to the module", func(ctx SpecContext) {
		ns := suite.Namespace()
		Expect(suite.Client().Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
			Data:       map[string]string{"color": "blue", "size": "large"},
		})).To(Succeed())
		p := wasmPod(ns, "env", "env", corev1.RestartPolicyNever, "one", "two words")
		p.Spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "PLAIN", Value: "value"},
			{Name: "FILES", Value: "/config/size"},
			{Name: "COLOR", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "color"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		}
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}
		p.Spec.Volumes = []corev1.Volume{{Name: "settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "settings", MountPath: "/config"}}
		create(ctx, p)
		waitPhase(ctx, ns, "env", corev1.PodSucceeded)
		Expect(kubectl("logs", "-n", ns, "env")).To(Equal("arg[0]=one\narg[1]=two words\nCM_color=blue\nCM_size=large\nCOLOR=blue\nFILES=/config/size\nPLAIN=value\nPOD_NAME=env\n/config/size: large\n"))
	})

	It("waits with CreateContainerConfigError while a ConfigMap is missing", func(ctx SpecContext) {
		ns := suite.Namespace()
		p := wasmPod(ns, "needs-config", "hello", corev1.RestartPolicyNever)
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "later"}}}}
		create(ctx, p)
		waitFor(ctx, ns, "needs-config", func(g Gomega, p *corev1.Pod) {
			g.Expect(nodedemo.Waiting(p)).To(Equal("CreateContainerConfigError"))
			g.Expect(p.Status.ContainerStatuses[0].State.Waiting.Message).To(ContainSubstring(`configmap "later"`))
		})
		By("starting once the ConfigMap exists")
		Expect(suite.Client().Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}})).To(Succeed())
		waitPhase(ctx, ns, "needs-config", corev1.PodSucceeded)
	})

	It("reports Failed with the module's exit code, a trap and an out-of-memory module", func(ctx SpecContext) {
		ns := suite.Namespace()
		fail := wasmPod(ns, "fail", "fail", corev1.RestartPolicyNever)
		fail.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "EXIT_CODE", Value: "3"}}
		trap := wasmPod(ns, "trap", "trap", corev1.RestartPolicyNever)
		oom := wasmPod(ns, "oom", "oom", corev1.RestartPolicyNever)
		oom.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("48Mi")}
		for _, p := range []*corev1.Pod{fail, trap, oom} {
			create(ctx, p)
		}
		for _, want := range []struct {
			name, reason, message string
			code                  int32
		}{
			{"fail", "Error", "", 3},
			{"trap", "Error", "wasm trap: unreachable", 134},
			{"oom", "OOMKilled", "memory limit allows 48.0 MiB", 137},
		} {
			p := waitPhase(ctx, ns, want.name, corev1.PodFailed)
			t := p.Status.ContainerStatuses[0].State.Terminated
			Expect(t).NotTo(BeNil(), want.name)
			Expect(t.ExitCode).To(Equal(want.code), want.name)
			Expect(t.Reason).To(Equal(want.reason), want.name)
			Expect(t.Message).To(ContainSubstring(want.message), want.name)
		}
		Expect(kubectl("logs", "-n", ns, "fail")).To(Equal("fail: giving up with exit code 3\n"))
	})

	It("reports a module that is not in the store as ErrImagePull, then ImagePullBackOff", func(ctx SpecContext) {
		ns := suite.Namespace()
		create(ctx, wasmPod(ns, "missing", "registry.example/no-such-module:1", corev1.RestartPolicyAlways))
		waitFor(ctx, ns, "missing", func(g Gomega, p *corev1.Pod) {
			g.Expect(nodedemo.Waiting(p)).To(Equal("ImagePullBackOff"))
			g.Expect(p.Status.ContainerStatuses[0].State.Waiting.Message).To(ContainSubstring(`"no-such-module"`))
			g.Expect(p.Status.Phase).To(Equal(corev1.PodPending))
		})
	})

	It("rejects a pod with features a WebAssembly node does not have", func(ctx SpecContext) {
		ns := suite.Namespace()
		p := wasmPod(ns, "host-network", "hello", corev1.RestartPolicyNever)
		p.Spec.HostNetwork = true
		create(ctx, p)
		waitFor(ctx, ns, "host-network", func(g Gomega, p *corev1.Pod) { g.Expect(p.Status.Phase).To(Equal(corev1.PodFailed)) })
		p = get(ctx, ns, "host-network")
		Expect(p.Status.Reason).To(Equal("UnsupportedPodSpec"))
		Expect(p.Status.Message).To(ContainSubstring("hostNetwork"))
	})

	It("restarts a crashing module with growing back-off into CrashLoopBackOff", func(ctx SpecContext) {
		ns := suite.Namespace()
		create(ctx, wasmPod(ns, "crasher", "fail", corev1.RestartPolicyAlways))
		var restarts int32
		waitFor(ctx, ns, "crasher", func(g Gomega, p *corev1.Pod) {
			g.Expect(nodedemo.Waiting(p)).To(Equal("CrashLoopBackOff"))
			cs := p.Status.ContainerStatuses[0]
			g.Expect(cs.RestartCount).To(BeNumerically(">=", 1))
			g.Expect(cs.LastTerminationState.Terminated).NotTo(BeNil())
			g.Expect(cs.LastTerminationState.Terminated.ExitCode).To(BeEquivalentTo(1))
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
			restarts = cs.RestartCount
		})
		By("counting more restarts")
		waitFor(ctx, ns, "crasher", func(g Gomega, p *corev1.Pod) {
			g.Expect(p.Status.ContainerStatuses[0].RestartCount).To(BeNumerically(">", restarts))
		})
		Expect(kubectl("logs", "-n", ns, "crasher", "--previous")).To(Equal("fail: giving up with exit code 1\n"))

		By("recording the kubelet's events for kubectl describe")
		Eventually(func(g Gomega) {
			evs, err := suite.Clientset().CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=crasher"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(evs.Items).To(ContainElement(And(HaveField("Reason", "BackOff"), HaveField("Source.Component", "nodeagent"))))
			g.Expect(evs.Items).To(ContainElement(HaveField("Reason", "Started")))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("streams a running module's log with kubectl logs -f", func(ctx SpecContext) {
		ns := suite.Namespace()
		create(ctx, wasmPod(ns, "ticker", "ticker", corev1.RestartPolicyAlways))
		waitPhase(ctx, ns, "ticker", corev1.PodRunning)
		s := demotest.Start(suite.Kubectl(), "", "--kubeconfig", suite.Kubeconfig(), "logs", "-f", "-n", ns, "ticker")
		DeferCleanup(func() { s.Kill() })
		Eventually(s.Out).WithTimeout(30 * time.Second).Should(gbytes.Say("tick 1\ntick 2\ntick 3\n"))
		Expect(s.ExitCode()).To(Equal(-1), "kubectl logs -f keeps following a running module")
		By("refusing kubectl exec with a clear error")
		out, err := exec.CommandContext(ctx, suite.Kubectl(), "--kubeconfig", suite.Kubeconfig(), "exec", "-n", ns, "ticker", "--", "sh").CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("not supported by this node"))
	})

	It("deletes a running pod gracefully: stops the module, reports it, removes the pod", func(ctx SpecContext) {
		ns := suite.Namespace()
		create(ctx, wasmPod(ns, "ticker", "ticker", corev1.RestartPolicyAlways))
		p := waitPhase(ctx, ns, "ticker", corev1.PodRunning)
		w, err := suite.Clientset().CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", "ticker").String(), ResourceVersion: p.ResourceVersion,
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(w.Stop)

		grace := int64(10)
		deleted := time.Now()
		Expect(suite.Clientset().CoreV1().Pods(ns).Delete(ctx, "ticker", metav1.DeleteOptions{GracePeriodSeconds: &grace})).To(Succeed())
		var last *corev1.Pod
		Eventually(func(g Gomega) {
			select {
			case ev := <-w.ResultChan():
				if ev.Type == watch.Deleted {
					last = ev.Object.(*corev1.Pod)
				}
			default:
			}
			g.Expect(last).NotTo(BeNil(), "the pod is still there")
		}).WithTimeout(time.Duration(grace) * time.Second).WithPolling(10 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("pod gone %v after its deletion\n", time.Since(deleted))
		By("having reported the stopped module before removing the pod")
		t := last.Status.ContainerStatuses[0].State.Terminated
		Expect(t).NotTo(BeNil())
		Expect(t.ExitCode).To(BeEquivalentTo(137))
		Expect(t.Message).To(ContainSubstring("the pod was deleted"))
		Expect(last.Status.Phase).To(Equal(corev1.PodFailed))
	})

	It("re-adopts its running pods after a restart", func(ctx SpecContext) {
		ns := suite.Namespace()
		create(ctx, wasmPod(ns, "ticker", "ticker", corev1.RestartPolicyAlways))
		before := waitPhase(ctx, ns, "ticker", corev1.PodRunning)
		// Running is reported as the module starts, before it has printed
		// anything: wait for its first line, which --previous shows later.
		Eventually(func(g Gomega) {
			out, err := exec.CommandContext(ctx, suite.Kubectl(), "--kubeconfig", suite.Kubeconfig(), "logs", "-n", ns, "ticker").Output()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(out)).To(HavePrefix("tick 1\n"))
		}).WithContext(ctx).Should(Succeed())

		By("stopping the agent with SIGTERM: the module stops, the node goes NotReady")
		ag.Stop()
		Expect(nodedemo.NodeReady(ctx, suite.Clientset(), nodeName)).To(Equal(corev1.ConditionFalse))
		stopped := get(ctx, ns, "ticker")
		Expect(stopped.Status.ContainerStatuses[0].State.Terminated).NotTo(BeNil())
		Expect(stopped.Status.ContainerStatuses[0].State.Terminated.Message).To(ContainSubstring("the node agent stopped"))

		By("starting it again: the same pod runs again, its restart counted")
		ag.Start(ctx)
		waitFor(ctx, ns, "ticker", func(g Gomega, p *corev1.Pod) {
			g.Expect(p.UID).To(Equal(before.UID))
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
			cs := p.Status.ContainerStatuses[0]
			g.Expect(cs.State.Running).NotTo(BeNil())
			g.Expect(cs.RestartCount).To(Equal(before.Status.ContainerStatuses[0].RestartCount + 1))
			g.Expect(cs.LastTerminationState.Terminated).NotTo(BeNil())
		})
		Expect(kubectl("logs", "-n", ns, "ticker", "--previous")).To(HavePrefix("tick 1\n"))
	})

	It("never gets ordinary pods: without the toleration a pod stays unschedulable", func(ctx SpecContext) {
		ns := suite.Namespace()
		p := wasmPod(ns, "no-toleration", "hello", corev1.RestartPolicyNever)
		p.Spec.Tolerations = nil
		create(ctx, p)
		waitFor(ctx, ns, "no-toleration", func(g Gomega, p *corev1.Pod) {
			g.Expect(p.Status.Conditions).To(ContainElement(And(
				HaveField("Type", corev1.PodScheduled), HaveField("Status", corev1.ConditionFalse), HaveField("Reason", "Unschedulable"))))
		})
		Expect(get(ctx, ns, "no-toleration").Spec.NodeName).To(BeEmpty())

		By("scheduling a plain pod to a kwok node, not to the agent's")
		plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: workload.Image}}}}
		create(ctx, plain)
		waitFor(ctx, ns, "plain", func(g Gomega, p *corev1.Pod) { g.Expect(p.Spec.NodeName).NotTo(BeEmpty()) })
		Expect(get(ctx, ns, "plain").Spec.NodeName).NotTo(Equal(nodeName))
	})

	It("refuses a second agent with the same node name, and leaves the first one running", func(ctx SpecContext) {
		other, err := proc.FreePort()
		Expect(err).NotTo(HaveOccurred())
		s := demotest.Run(ag.Bin, "", nodedemo.AgentArgs(suite.Kubeconfig(), nodeName, ag.Root, GinkgoT().TempDir(), other)...)
		Expect(s.ExitCode()).To(Equal(1))
		Expect(s.Err).To(gbytes.Say("already run by another agent"))
		Expect(ag.Session.ExitCode()).To(Equal(-1))
		Expect(nodedemo.NodeReady(ctx, suite.Clientset(), nodeName)).To(Equal(corev1.ConditionTrue))
	})

	It("exits 1 with a clear error when it cannot go on", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		unreachable := filepath.Join(dir, "kubeconfig")
		Expect(os.WriteFile(unreachable, []byte(fmt.Sprintf(unreachableKubeconfig, freePort())), 0o600)).To(Succeed())
		s := demotest.Run(ag.Bin, "", "--kubeconfig", unreachable, "--node-name", "nodeagent-unreachable")
		Expect(s.ExitCode()).To(Equal(1))
		Expect(s.Err).To(gbytes.Say("cannot reach the Kubernetes API server"))

		s = demotest.Run(ag.Bin, "", nodedemo.AgentArgs(suite.Kubeconfig(), "nodeagent-no-store", ag.Root, filepath.Join(dir, "state"), freePort(), "--module-dir", filepath.Join(dir, "none"))...)
		Expect(s.ExitCode()).To(Equal(1))
		Expect(s.Err).To(gbytes.Say("nodeAgent:modules"))
		_, err := suite.Clientset().CoreV1().Nodes().Get(ctx, "nodeagent-no-store", metav1.GetOptions{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "an agent that cannot start registers no node")

		s = demotest.Run(ag.Bin, "", "--node-ip", "not-an-ip")
		Expect(s.ExitCode()).To(Equal(2))
	})
})

const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:%d"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

// wasmPod is a pod for the suite's agent: pinned to its node, so other
// agents on the shared cluster never get it.
func wasmPod(ns, name, image string, policy corev1.RestartPolicy, args ...string) *corev1.Pod {
	return nodedemo.OnNode(nodedemo.Pod(ns, name, image, policy, args...), nodeName)
}

func freePort() int {
	p, err := proc.FreePort()
	Expect(err).NotTo(HaveOccurred())
	return p
}

func create(ctx context.Context, p *corev1.Pod) {
	GinkgoHelper()
	Expect(suite.Client().Create(ctx, p)).To(Succeed())
}

func get(ctx context.Context, ns, name string) *corev1.Pod {
	GinkgoHelper()
	p, err := suite.Clientset().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return p
}

func waitFor(ctx context.Context, ns, name string, check func(Gomega, *corev1.Pod)) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		p, err := suite.Clientset().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		check(g, p)
	}).WithTimeout(timeout).Should(Succeed())
}

func waitPhase(ctx context.Context, ns, name string, phase corev1.PodPhase) *corev1.Pod {
	GinkgoHelper()
	var out *corev1.Pod
	waitFor(ctx, ns, name, func(g Gomega, p *corev1.Pod) {
		g.Expect(p.Status.Phase).To(Equal(phase))
		g.Expect(p.Status.ContainerStatuses).NotTo(BeEmpty())
		out = p
	})
	return out
}

func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := exec.Command(suite.Kubectl(), append([]string{"--kubeconfig", suite.Kubeconfig()}, args...)...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		GinkgoWriter.Printf("kubectl stderr: %s\n", ee.Stderr)
	}
	Expect(err).NotTo(HaveOccurred(), "kubectl %v", args)
	return string(out)
}
