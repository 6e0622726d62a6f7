//go:build e2e

package podlistere2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/demotest"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

var suite = e2e.NewSuite("pod-lister")

func TestE2E(t *testing.T) { suite.Run(t) }

const pkg = "github.com/kubeworkshop/kubeworkshop/demos/01-pod-lister"

func newPod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: workload.Image}}},
	}
}

// createPods creates n pods named prefix-0..n-1 in ns and returns their namespace/name.
func createPods(ctx SpecContext, ns, prefix string, n int, labels map[string]string) []string {
	var names []string
	for i := range n {
		p := newPod(ns, fmt.Sprintf("%s-%d", prefix, i), labels)
		Expect(suite.Client().Create(ctx, p)).To(Succeed())
		names = append(names, ns+"/"+p.Name)
	}
	return names
}

// apiNames lists what the API holds in the given namespaces, as namespace/name.
func apiNames(ctx SpecContext, namespaces ...string) []string {
	var out []string
	for _, ns := range namespaces {
		var pods corev1.PodList
		Expect(suite.Client().List(ctx, &pods, clientInNamespace(ns))).To(Succeed())
		for _, p := range pods.Items {
			out = append(out, p.Namespace+"/"+p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// only keeps the lines that belong to the given namespaces.
func only(lines []string, namespaces ...string) []string {
	var out []string
	for _, l := range lines {
		for _, ns := range namespaces {
			if strings.HasPrefix(l, ns+"/") {
				out = append(out, l)
			}
		}
	}
	sort.Strings(out)
	return out
}

var _ = Describe("pod-lister", func() {
	var bin string
	BeforeEach(func() { bin = demotest.Build(pkg) })

	for _, client := range []string{"controller-runtime", "clientgo"} {
		Context("with the "+client+" client", func() {
			It("lists every seeded pod across namespaces, as many as the API holds", func(ctx SpecContext) {
				nsA, nsB := suite.Namespace(), suite.NewNamespace(ctx, "b")
				seeded := append(createPods(ctx, nsA, "a", 3, nil), createPods(ctx, nsB, "b", 4, nil)...)
				sort.Strings(seeded)

				s := demotest.Run(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-A", "-o", "name")
				Expect(s.ExitCode()).To(Equal(0))
				listed := only(demotest.Lines(s.Out.Contents()), nsA, nsB)
				Expect(listed).To(Equal(seeded))
				Expect(listed).To(Equal(apiNames(ctx, nsA, nsB)))

				By("printing the table with a NAMESPACE column")
				s = demotest.Run(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-A")
				Expect(s.ExitCode()).To(Equal(0))
				Expect(s.Out).To(gbytes.Say(`NAMESPACE\s+NAME\s+READY\s+STATUS\s+NODE\s+AGE`))
				Expect(string(s.Out.Contents())).To(MatchRegexp(`(?m)^%s\s+b-3\s+\d+/1\s+\S+`, nsB))
			})

			It("filters with label and field selectors", func(ctx SpecContext) {
				ns := suite.Namespace()
				web := createPods(ctx, ns, "web", 2, map[string]string{"app": "web"})
				createPods(ctx, ns, "db", 2, map[string]string{"app": "db"})

				s := demotest.Run(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-n", ns, "-l", "app=web", "-o", "name")
				Expect(s.ExitCode()).To(Equal(0))
				Expect(demotest.Lines(s.Out.Contents())).To(ConsistOf(web))

				s = demotest.Run(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-n", ns, "--field-selector", "metadata.name=db-1", "-o", "name")
				Expect(s.ExitCode()).To(Equal(0))
				Expect(demotest.Lines(s.Out.Contents())).To(ConsistOf(ns + "/db-1"))
			})

			It("pages with a small page size and returns each pod exactly once", func(ctx SpecContext) {
				ns := suite.Namespace()
				seeded := createPods(ctx, ns, "p", 7, nil)

				s := demotest.Run(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-n", ns, "--page-size", "2", "-o", "name")
				Expect(s.ExitCode()).To(Equal(0))
				lines := demotest.Lines(s.Out.Contents())
				Expect(lines).To(HaveLen(len(seeded)))
				Expect(lines).To(ConsistOf(seeded))

				By("showing each page and its continue token with -v")
				s = demotest.Run(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-n", ns, "--page-size", "2", "-o", "name", "-v")
				Expect(s.ExitCode()).To(Equal(0))
				Expect(demotest.Lines(s.Out.Contents())).To(ConsistOf(seeded))
				pages := demotest.Lines(s.Err.Contents())
				Expect(pages).To(HaveLen(4))
				Expect(pages[0]).To(MatchRegexp(`^page 1: 2 pods, continue "\S+"$`))
				Expect(pages[3]).To(Equal(`page 4: 1 pods, continue ""`))

				By("streaming the same pages as one valid JSON list")
				s = demotest.Run(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-n", ns, "--page-size", "3", "-o", "json")
				Expect(s.ExitCode()).To(Equal(0))
				var list corev1.PodList
				Expect(json.Unmarshal(s.Out.Contents(), &list)).To(Succeed())
				Expect(list.Items).To(HaveLen(len(seeded)))
			})

			It("reports a pod created and deleted during --watch, and exits 0 on Ctrl-C", func(ctx SpecContext) {
				ns := suite.Namespace()
				createPods(ctx, ns, "before", 1, nil)

				s := demotest.Start(bin, "", "--kubeconfig", suite.Kubeconfig(), "--client", client, "-n", ns, "--watch", "-o", "name")
				DeferCleanup(func() { s.Kill() })
				Eventually(s.Out).WithTimeout(30 * time.Second).Should(gbytes.Say(ns + "/before-0\n"))

				By("creating a pod while watching")
				p := newPod(ns, "during", nil)
				Expect(suite.Client().Create(ctx, p)).To(Succeed())
				Eventually(s.Out).WithTimeout(30 * time.Second).Should(gbytes.Say("ADDED " + ns + "/during\n"))

				By("deleting it")
				Expect(suite.Clientset().CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})).To(Succeed())
				Eventually(s.Out).WithTimeout(60 * time.Second).Should(gbytes.Say("DELETED " + ns + "/during\n"))

				s.Interrupt()
				Eventually(s).WithTimeout(30 * time.Second).Should(gexec.Exit(0))
			})
		})
	}

	It("fails fast with exit 1, naming the server, when the cluster is unreachable", func() {
		kubeconfig := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		Expect(os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
current-context: c
`), 0o600)).To(Succeed())
		// The promise is "never hang on a dead cluster": the bound is generous, the
		// program's own connect timeout is a few seconds.
		s := demotest.Start(bin, "", "--kubeconfig", kubeconfig)
		Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit(1))
		Expect(string(s.Err.Contents())).To(And(ContainSubstring("https://127.0.0.1:1"), ContainSubstring("go tool mage cluster:up")))
	})

	It("exits 2 on a usage error", func() {
		s := demotest.Run(bin, "", "--page-size", "0")
		Expect(s.ExitCode()).To(Equal(2))
		Expect(string(s.Err.Contents())).To(ContainSubstring("--page-size must be positive"))
	})
})
