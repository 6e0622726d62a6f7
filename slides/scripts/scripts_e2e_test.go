//go:build e2e

package scripts

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agenttest"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
	"github.com/kubeworkshop/kubeworkshop/slides/deck"
)

var suite = e2e.NewSuite("slides-scripts")

func TestE2E(t *testing.T) { suite.Run(t) }

// script is a slide's shell script and what its slide promises.
type script struct {
	name string
	// exit is the status the script must end with.
	exit int
	// want are strings its combined output must contain; "{ns}" stands
	// for the spec's namespace.
	want []string
	// only, when set, skips the spec (with a reason) on clusters the script
	// cannot run against.
	only func(ctx context.Context)
	// setup, when set, prepares the cluster first (in the spec's namespace).
	setup func(ctx context.Context, ns string)
	// verify, when set, checks the cluster afterwards.
	verify func(ctx context.Context, ns string)
}

// createPod creates a pod for the pod lister scripts to find.
func createPod(ctx context.Context, ns string) {
	pod := &corev1.Pod{
		// The label lets the table script show this pod alone, whatever else
		// the other suites run at the moment its output is recorded.
		ObjectMeta: metav1.ObjectMeta{Name: "slides-demo", Namespace: ns, Labels: map[string]string{"app": "slides-demo"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: workload.Image}}},
	}
	Expect(suite.Client().Create(ctx, pod)).To(Succeed())
}

// installCRDs installs the PodSet operator's CRDs as `go tool mage
// operator:install` does (idempotently, waiting until they are served).
func installCRDs(ctx context.Context, _ string) {
	Expect(ops.Install(ctx, suite.RESTConfig(), GinkgoWriter)).To(Succeed())
}

// leaseForEveryNode checks what 06-node-leases.sh showed: every node of the
// cluster, simulated (kwok) or real (kind), has a Lease of its own in
// kube-node-lease that someone holds and renews.
func leaseForEveryNode(ctx context.Context, _ string) {
	var nodes corev1.NodeList
	Expect(suite.Client().List(ctx, &nodes)).To(Succeed())
	Expect(nodes.Items).NotTo(BeEmpty())
	for _, n := range nodes.Items {
		if n.Labels[corev1.LabelArchStable] == "wasm" {
			continue // a node agent of another suite, which may be stopping right now
		}
		var lease coordinationv1.Lease
		Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: "kube-node-lease", Name: n.Name}, &lease)).To(Succeed(), "lease of node %s", n.Name)
		// The holder is whoever plays the kubelet: the kubelet itself on kind
		// (the node's name), kwok's controller on kwok.
		Expect(lease.Spec.HolderIdentity).To(HaveValue(Not(BeEmpty())), "holder of node %s's lease", n.Name)
		Expect(lease.Spec.RenewTime).NotTo(BeNil(), "node %s's lease was never renewed", n.Name)
	}
}

// kindNodes skips the spec unless the cluster's nodes are kind's node
// containers, which a script can look into with docker exec.
func kindNodes(ctx context.Context) {
	if !suite.OnKind(ctx) {
		Skip("kind only: no node is a kind node container (on kwok the nodes are simulated), so there is nothing to look into; run this suite with CLUSTER_PROVIDER=kind")
	}
}

// nothingWritten checks that the refused settings were not stored.
func nothingWritten(ctx context.Context, _ string) {
	err := suite.Client().Get(ctx, client.ObjectKey{Namespace: "default", Name: "workshop-settings"}, &corev1.ConfigMap{})
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "configmap default/workshop-settings exists or could not be read: %v", err)
}

// gone checks that the script left no object named name behind.
func gone(obj client.Object, namespace, name string) func(ctx context.Context, ns string) {
	return func(ctx context.Context, _ string) {
		err := suite.Client().Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s/%s still exists or could not be read: %v", obj, namespace, name, err)
	}
}

// scripts lists every script in this directory; a spec below fails when a
// script is missing from the list, so none goes untested.
var scripts = []script{
	{name: "00-object.sh", want: []string{"kind: Deployment", "replicas: 2", "image: " + workload.Image, "status: {}"}},
	{name: "00-status-by-server.sh", want: []string{"kind: Namespace", "name: team-a", "phase: Active"}, verify: gone(&corev1.Namespace{}, "", "team-a")},
	{name: "00-orphan.sh", want: []string{"deployment.apps/web created", "condition met", `deployment.apps "web" deleted`, "OWNERS", "<none>"}},
	{name: "00-finalizer.sh", want: []string{"configmap/held created", "configmap/held patched", `configmap "held" deleted`}, verify: gone(&corev1.ConfigMap{}, "default", "held")},
	{name: "00-api-resources.sh", want: []string{"deployments", "daemonsets", "statefulsets", "replicasets", "controllerrevisions"}},
	{name: "00-raw-get.sh", want: []string{`"kind":"Namespace"`, `"name":"default"`, `"status":{"phase":"Active"}`}},
	{name: "00-watch.sh", want: []string{`"type":"ADDED"`, `"name":"default"`, `"name":"kube-system"`}},
	{name: "01-pod-lister.sh", want: []string{"{ns}/slides-demo"}, setup: createPod},
	{name: "01-watch-gone.sh", want: []string{`"type":"ERROR"`, `"code":410`, `"reason":"Expired"`}},
	{name: "01-pod-lister-clientgo.sh", want: []string{"NAMESPACE", "NAME", "STATUS", "slides-demo"}, setup: createPod},
	{name: "02-ca.sh", want: []string{"NOT-AFTER", "default", "ok"}},
	{name: "02-settings-wrong-type.sh", exit: 1, want: []string{"nothing was written", `key "replicas"`}, verify: nothingWritten},
	{name: "03-resources.sh", want: []string{"SHORTNAMES", "NAMESPACED", "pods", "deployments", "Deployment"}},
	{name: "03-get-nodes.sh", want: []string{"node/"}},
	{name: "03-unknown.sh", exit: 1, want: []string{`"pdos"`, `did you mean`, `"pods"`}},
	{name: "03-discovery.sh", want: []string{"customresourcedefinition.apiextensions.k8s.io/gadgets.slides.example.com created", "condition met", "served in discovery at try"}},
	{name: "03-ssa-release.sh", want: []string{"configmap/ssa-demo serverside-applied", `{"a":"1"}`}},
	{name: "03-ssa-conflict.sh", exit: 1, want: []string{"configmap/ssa-demo serverside-applied", `conflict with "alice"`, ".data.a"}},
	{name: "04-cel-selector.sh", exit: 1, want: []string{"must appear with the same value in spec.template.metadata.labels"}, setup: installCRDs},
	{name: "04-rbac.sh", want: []string{"yes\nyes\nyes\nno\nno"}, setup: installCRDs},
	{name: "04-cel-singleton.sh", exit: 1, want: []string{"must be named 'singleton'"}, setup: installCRDs},
	{name: "05-nodes.sh", want: []string{"STATUS", "Ready"}},
	{name: "05-inside-node.sh", only: kindNodes, want: []string{"CONTAINER", "kube-apiserver", "etcd", "Running"}},
	{name: "05-readyz.sh", want: []string{"[+]etcd ok", "readyz check passed"}},
	{name: "06-node-leases.sh", want: []string{"HOLDER"}, verify: leaseForEveryNode},
	// Any wasm node may run the pod: other suites' agents can share the cluster.
	{name: "06-wasm-pod.sh", want: []string{"condition met", "Completed", "hello, world, from a WebAssembly module"}, setup: startNodeAgent},
}

// startNodeAgent runs demo 05's node agent as node slides-wasm until the
// spec ends, as `go tool mage demo:nodeAgent` would.
func startNodeAgent(ctx context.Context, _ string) {
	agenttest.Run(ctx, suite.Clientset(), suite.Kubeconfig(), "slides-wasm")
}

var _ = Describe("slide scripts", func() {
	It("lists every script in slides/scripts", func() {
		files, err := filepath.Glob("*.sh")
		Expect(err).NotTo(HaveOccurred())
		var listed []string
		for _, s := range scripts {
			listed = append(listed, s.name)
		}
		slices.Sort(files)
		slices.Sort(listed)
		Expect(listed).To(Equal(files), "add an entry to scripts for each new script")
	})

	entries := []TableEntry{}
	for _, s := range scripts {
		entries = append(entries, Entry(s.name, s))
	}
	DescribeTable("runs against the cluster and prints what its slide promises",
		func(ctx SpecContext, s script) {
			if s.only != nil {
				s.only(ctx)
			}
			ns := suite.Namespace()
			if s.setup != nil {
				s.setup(ctx, ns)
			}
			root, err := repo.Root("")
			Expect(err).NotTo(HaveOccurred())
			cmd := exec.CommandContext(ctx, "bash", filepath.Join("slides", "scripts", s.name))
			cmd.Dir = root
			cmd.Env = append(os.Environ(),
				"KUBECONFIG="+suite.Kubeconfig(),
				// A fresh discovery cache, so kubectl sees CRDs created just now.
				"KUBECACHEDIR="+GinkgoT().TempDir(),
				"PATH="+filepath.Dir(suite.Kubectl())+string(os.PathListSeparator)+os.Getenv("PATH"),
			)
			// One buffer for both streams keeps them in the order a terminal shows.
			combined := gbytes.NewBuffer()
			session, err := gexec.Start(cmd, io.MultiWriter(GinkgoWriter, combined), io.MultiWriter(GinkgoWriter, combined))
			Expect(err).NotTo(HaveOccurred())
			// go run compiles the demo first, hence the generous timeout.
			Eventually(session).WithContext(ctx).WithTimeout(3*time.Minute).Should(gexec.Exit(s.exit), "%s exit status", s.name)
			out := string(combined.Contents())
			for _, w := range s.want {
				Expect(out).To(ContainSubstring(strings.ReplaceAll(w, "{ns}", ns)), "%s output", s.name)
			}
			// Only output that keeps the slide's promises goes on the slide.
			Expect(deck.RecordOutput(root, deck.ScriptsDir+"/"+s.name, combined.Contents())).To(Succeed())
			if s.verify != nil {
				s.verify(ctx, ns)
			}
		},
		entries,
	)
})
