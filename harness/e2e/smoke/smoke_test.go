//go:build e2e

package smoke

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"

	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

var suite = e2e.NewSuite("smoke")

func TestE2E(t *testing.T) { suite.Run(t) }

var _ = Describe("the shared cluster", func() {
	It("has only Ready nodes", func(ctx SpecContext) {
		Eventually(func(g Gomega) {
			var nodes corev1.NodeList
			g.Expect(suite.Client().List(ctx, &nodes)).To(Succeed())
			g.Expect(nodes.Items).NotTo(BeEmpty())
			for _, n := range nodes.Items {
				g.Expect(n.Status.Conditions).To(ContainElement(And(
					HaveField("Type", corev1.NodeReady),
					HaveField("Status", corev1.ConditionTrue),
				)), "node %s", n.Name)
			}
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})

	It("runs a Deployment of 3 replicas as 3 Running pods", func(ctx SpecContext) {
		suite.RequireWorkload(ctx)
		labels := map[string]string{"app": "smoke"}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: suite.Namespace()},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: workload.Image}}},
				},
			},
		}
		By("creating the Deployment")
		Expect(suite.Client().Create(ctx, dep)).To(Succeed())

		By("waiting for it to be Available (e2e-framework wait.For)")
		Expect(wait.For(conditions.New(suite.Config().Client().Resources()).DeploymentAvailable(dep.Name, dep.Namespace),
			wait.WithContext(ctx), wait.WithTimeout(2*time.Minute), wait.WithInterval(250*time.Millisecond))).To(Succeed())

		By("counting Running pods")
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(suite.Client().List(ctx, &pods, client.InNamespace(dep.Namespace), client.MatchingLabels(labels))).To(Succeed())
			g.Expect(pods.Items).To(HaveLen(3))
			for _, p := range pods.Items {
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s", p.Name)
				g.Expect(p.Spec.NodeName).NotTo(BeEmpty(), "pod %s is not scheduled", p.Name)
			}
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})

	It("round-trips a ConfigMap", func(ctx SpecContext) {
		want := map[string]string{"greeting": "hello", "multi.line": "a\nb\n", "empty": ""}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "round-trip", Namespace: suite.Namespace()},
			Data:       want,
		}
		Expect(suite.Client().Create(ctx, cm)).To(Succeed())

		var got corev1.ConfigMap
		Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(cm), &got)).To(Succeed())
		Expect(got.Data).To(Equal(want))

		By("updating it and reading the change back through the clientset")
		got.Data["greeting"] = "bye"
		Expect(suite.Client().Update(ctx, &got)).To(Succeed())
		again, err := suite.Clientset().CoreV1().ConfigMaps(cm.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Data).To(HaveKeyWithValue("greeting", "bye"))
		Expect(again.ResourceVersion).NotTo(Equal(cm.ResourceVersion))

		By("deleting it and waiting until it is gone")
		Expect(suite.Client().Delete(ctx, &got)).To(Succeed())
		Expect(wait.For(conditions.New(suite.Config().Client().Resources()).ResourceDeleted(&got),
			wait.WithContext(ctx), wait.WithTimeout(30*time.Second))).To(Succeed())
	})
})

var _ = Describe("pod networking across nodes", Label("multi-node"), func() {
	It("lets pods on different nodes reach each other over HTTP", func(ctx SpecContext) {
		suite.RequireWorkload(ctx)
		var nodes corev1.NodeList
		Expect(suite.Client().List(ctx, &nodes)).To(Succeed())
		var runners []string
		for _, n := range nodes.Items {
			if e2e.RunsRealPods(n) {
				runners = append(runners, n.Name)
			}
		}
		if len(runners) < 2 {
			Skip(fmt.Sprintf("multi-node: %d node(s) run real pods (%v); this needs 2, e.g. CLUSTER_PROVIDER=kind CLUSTER_NODES=2", len(runners), runners))
		}
		ns := suite.Namespace()
		pair := runners[:2]

		By("running the workload on " + pair[0] + " and " + pair[1])
		servers := make([]*corev1.Pod, len(pair))
		for i, node := range pair {
			servers[i] = workloadPod(ns, fmt.Sprintf("server-%d", i), node)
			servers[i].Spec.Containers[0].ReadinessProbe = &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}},
				PeriodSeconds: 1,
			}
			Expect(suite.Client().Create(ctx, servers[i])).To(Succeed())
		}
		for _, srv := range servers {
			Eventually(func(g Gomega) {
				g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(srv), srv)).To(Succeed())
				g.Expect(srv.Status.PodIP).NotTo(BeEmpty())
				g.Expect(srv.Status.Conditions).To(ContainElement(And(
					HaveField("Type", corev1.PodReady), HaveField("Status", corev1.ConditionTrue))), "pod %s on %s", srv.Name, srv.Spec.NodeName)
			}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		}

		By("fetching each server's /healthz from a pod on the other node")
		clients := make([]*corev1.Pod, len(pair))
		for i, srv := range servers {
			other := pair[(i+1)%len(pair)]
			url := "http://" + net.JoinHostPort(srv.Status.PodIP, "8080") + "/healthz"
			clients[i] = workloadPod(ns, fmt.Sprintf("client-%d", i), other)
			clients[i].Spec.Containers[0].Args = []string{"get", url}
			// The route to a new node's pods appears within seconds; the
			// kubelet retries a failed fetch until it is there.
			clients[i].Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			Expect(suite.Client().Create(ctx, clients[i])).To(Succeed())
		}
		for i, c := range clients {
			Eventually(func(g Gomega) {
				g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(c), c)).To(Succeed())
				g.Expect(c.Status.Phase).To(Equal(corev1.PodSucceeded), "pod %s on %s fetching from %s on %s: %v",
					c.Name, c.Spec.NodeName, servers[i].Status.PodIP, servers[i].Spec.NodeName, c.Status.ContainerStatuses)
			}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		}
	})
})

var _ = Describe("the default StorageClass", Label("storage"), func() {
	It("gives a claim a volume that a pod mounts, and removes it with the claim", func(ctx SpecContext) {
		var classes storagev1.StorageClassList
		Expect(suite.Client().List(ctx, &classes)).To(Succeed())
		var class string
		for _, c := range classes.Items {
			if c.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
				class = c.Name
			}
		}
		if class == "" {
			Skip("storage: the cluster has no default StorageClass (kwok has none; kind's comes with the node image)")
		}
		suite.RequireWorkload(ctx)
		ns := suite.Namespace()
		pvc := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}},
			},
		}
		By("claiming 16Mi from the default class " + class)
		Expect(suite.Client().Create(ctx, pvc)).To(Succeed())
		pod := workloadPod(ns, "uses-data", "")
		pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		Expect(suite.Client().Create(ctx, pod)).To(Succeed())

		By("waiting for the claim to be Bound and the pod to run with it")
		Eventually(func(g Gomega) {
			g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(pvc), pvc)).To(Succeed())
			g.Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
			g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pvc.Spec.VolumeName}}
		Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(pv), pv)).To(Succeed())
		Expect(pv.Spec.StorageClassName).To(Equal(class))

		By("deleting the pod and the claim: the volume goes too (reclaim policy Delete)")
		Expect(suite.Client().Delete(ctx, pod)).To(Succeed())
		Expect(suite.Client().Delete(ctx, pvc)).To(Succeed())
		Expect(wait.For(conditions.New(suite.Config().Client().Resources()).ResourceDeleted(pv),
			wait.WithContext(ctx), wait.WithTimeout(2*time.Minute))).To(Succeed())
	})
})

// workloadPod is a pod running the workload image (harness/workload),
// pinned to node unless node is empty.
func workloadPod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "workload", Image: workload.Image, ImagePullPolicy: corev1.PullNever}},
		},
	}
}

var _ = Describe("the state dump written for failed specs", func() {
	It("holds the namespace's objects, events and pod log notes", func(ctx SpecContext) {
		ns := suite.Namespace()
		Expect(suite.Client().Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "dumped", Namespace: ns},
			Data:       map[string]string{"k": "v"},
		})).To(Succeed())
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "dumped", Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: workload.Image}}},
		}
		Expect(suite.Client().Create(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(suite.Client().Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Spec.NodeName).NotTo(BeEmpty())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		Expect(suite.Client().Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: "dumped-", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Name: "dumped", Namespace: ns},
			Reason:         "SmokeTest", Message: "written by the smoke suite", Type: corev1.EventTypeNormal,
			LastTimestamp: metav1.Now(), Count: 1,
		})).To(Succeed())

		var node corev1.Node
		Expect(suite.Client().Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, &node)).To(Succeed())
		simulated := node.Annotations["kwok.x-k8s.io/node"] != ""

		dir := GinkgoT().TempDir()
		err := e2e.Dump(ctx, suite.RESTConfig(), ns, dir)
		if simulated {
			// On real nodes the pod's made-up image never runs, so fetching
			// its logs fails; everything else must still be written.
			Expect(err).NotTo(HaveOccurred())
		}

		cms, err := os.ReadFile(filepath.Join(dir, "objects", "configmaps.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(cms)).To(And(ContainSubstring("name: dumped"), ContainSubstring("k: v")))
		Expect(string(cms)).NotTo(ContainSubstring("managedFields"))
		Expect(filepath.Join(dir, "objects", "pods.yaml")).To(BeAnExistingFile())

		events, err := os.ReadFile(filepath.Join(dir, "events.txt"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(events)).To(And(ContainSubstring("SmokeTest"), ContainSubstring("configmap/dumped")))

		if simulated {
			logNote, err := os.ReadFile(filepath.Join(dir, "logs", "dumped.app.log"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(logNote)).To(ContainSubstring("simulated (kwok) node"))
		}
	})
})
