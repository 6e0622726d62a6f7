// Package agenttest runs the node agent from ginkgo e2e specs: it fills the
// module store, builds the agent once, starts it as a node of the shared
// cluster, waits for the node to be Ready, and stops it cleanly. The node
// agent's suite and the slide-script suite share it.
package agenttest

import (
	"context"
	"path/filepath"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agent"
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/modules"
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/nodedemo"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/demotest"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Package is the agent's import path.
const Package = "github.com/kubeworkshop/kubeworkshop/demos/05-node-agent"

// ReadyTimeout bounds the wait for the agent's node to be Ready.
const ReadyTimeout = 2 * time.Minute

// Agent is one node agent of a suite.
type Agent struct {
	Bin, Root, Kubeconfig, Node string
	// State is the agent's root directory (pod logs, compiled modules), a
	// temporary one removed when the scope that prepared the agent ends.
	State string
	Port  int
	// NodeIP is the address the agent advertises and serves logs on: the
	// cluster provider's HostIP (loopback on kwok, the kind network's
	// gateway on kind).
	NodeIP string
	// Session is the running agent, nil before Start and after Stop.
	Session *gexec.Session
	cs      kubernetes.Interface
}

// Prepare compiles the example programs into the module store, builds the
// agent and picks a free daemon port for node.
func Prepare(ctx context.Context, cs kubernetes.Interface, kubeconfig, node string) *Agent {
	ginkgo.GinkgoHelper()
	root, err := repo.Root("")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ginkgo.By("compiling the example programs into the module store")
	gomega.Expect(modules.Build(ctx, filepath.Join(root, "demos", "05-node-agent", "modules"), filepath.Join(root, agent.DefaultModuleDir), ginkgo.GinkgoWriter)).To(gomega.Succeed())
	port, err := proc.FreePort()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	a := &Agent{Bin: demotest.Build(Package), Root: root, State: ginkgo.GinkgoT().TempDir(), Kubeconfig: kubeconfig, Node: node, Port: port, cs: cs}
	// Where the API server reaches this machine: loopback on kwok, the kind
	// network's gateway on kind.
	p, err := cluster.NewFromEnv()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	a.NodeIP, err = p.HostIP(ctx)
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), "find the address the cluster reaches this host on")
	return a
}

// Args are the agent's flags for this node, plus extra.
func (a *Agent) Args(extra ...string) []string {
	if a.NodeIP != "" {
		extra = append([]string{"--node-ip", a.NodeIP}, extra...)
	}
	return nodedemo.AgentArgs(a.Kubeconfig, a.Node, a.Root, a.State, a.Port, extra...)
}

// Start runs the agent and waits until its node is Ready.
func (a *Agent) Start(ctx context.Context) {
	ginkgo.GinkgoHelper()
	s := demotest.Start(a.Bin, "", a.Args()...)
	a.Session = s
	gomega.Eventually(func(g gomega.Gomega) {
		g.Expect(s.ExitCode()).To(gomega.Equal(-1), "the node agent exited")
		g.Expect(nodedemo.NodeReady(ctx, a.cs, a.Node)).To(gomega.Equal(corev1.ConditionTrue))
	}).WithTimeout(ReadyTimeout).Should(gomega.Succeed())
}

// Stop sends SIGTERM and expects the agent to exit 0 after reporting its pods.
func (a *Agent) Stop() {
	ginkgo.GinkgoHelper()
	if a.Session == nil {
		return
	}
	a.Session.Terminate()
	gomega.Eventually(a.Session).WithTimeout(time.Minute).Should(gexec.Exit(0))
	a.Session = nil
}

// DeleteNode removes the agent's Node, as the demo does after stopping it.
func (a *Agent) DeleteNode(ctx context.Context) {
	ginkgo.GinkgoHelper()
	err := a.cs.CoreV1().Nodes().Delete(ctx, a.Node, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
	}
}

// Run prepares and starts an agent for node that is stopped, and its node
// deleted, when the current ginkgo node's scope ends.
func Run(ctx context.Context, cs kubernetes.Interface, kubeconfig, node string) *Agent {
	ginkgo.GinkgoHelper()
	a := Prepare(ctx, cs, kubeconfig, node)
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) {
		a.Stop()
		a.DeleteNode(ctx)
	})
	a.Start(ctx)
	return a
}
