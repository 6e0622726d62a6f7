//go:build e2e

package typedcme2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/demotest"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
)

var suite = e2e.NewSuite("typed-configmap")

func TestE2E(t *testing.T) { suite.Run(t) }

const pkg = "github.com/kubeworkshop/kubeworkshop/demos/02-typed-configmap"

var row = regexp.MustCompile(`^(\S+)\s+.*\s(ok|expires-soon|invalid|missing)\s`)

// statuses parses the ca table into namespace -> statuses.
func statuses(out []byte) map[string][]string {
	m := map[string][]string{}
	for _, l := range demotest.Lines(out)[1:] {
		if g := row.FindStringSubmatch(l + " "); g != nil {
			m[g[1]] = append(m[g[1]], g[2])
		}
	}
	return m
}

var _ = Describe("typed-configmap", func() {
	var bin string
	BeforeEach(func() { bin = demotest.Build(pkg) })

	Describe("ca", func() {
		It("validates the kube-root-ca.crt of every namespace", func(ctx SpecContext) {
			own := suite.Namespace()
			Eventually(func(g Gomega) {
				s := demotest.Run(bin, "", "ca", "--kubeconfig", suite.Kubeconfig(), "-A")
				got := statuses(s.Out.Contents())
				g.Expect(got).To(HaveKey(own), "our own namespace gets its bundle published")
				for ns, sts := range got {
					for _, st := range sts {
						if st == "ok" {
							continue
						}
						// Other suites create and delete namespaces concurrently: a bundle may
						// not be published yet, or already be gone. Anything else must be ok.
						var n corev1.Namespace
						err := suite.Client().Get(ctx, client.ObjectKey{Name: ns}, &n)
						fresh := err == nil && time.Since(n.CreationTimestamp.Time) < time.Minute
						g.Expect(apierrors.IsNotFound(err) || fresh || n.DeletionTimestamp != nil).To(BeTrue(),
							"namespace %s has status %s:\n%s", ns, st, s.Out.Contents())
					}
				}
				g.Expect(got[own]).To(Equal([]string{"ok"}))
			}).WithTimeout(time.Minute).Should(Succeed())

			By("checking one namespace with -n")
			s := demotest.Run(bin, "", "ca", "--kubeconfig", suite.Kubeconfig(), "-n", "kube-system")
			Expect(s.ExitCode()).To(Equal(0))
			Expect(string(s.Out.Contents())).To(MatchRegexp(`kube-system\s+CN=\S+.*\sok\s`))
		})

		It("gives a broken bundle its row with invalid, still prints the others, and exits 1", func(ctx SpecContext) {
			ns := suite.Namespace()
			broken := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "broken-ca"},
				Data:       map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n"},
			}
			Expect(suite.Client().Create(ctx, broken)).To(Succeed())

			s := demotest.Run(bin, "", "ca", "--kubeconfig", suite.Kubeconfig(), "-n", ns, "--name", "broken-ca")
			Expect(s.ExitCode()).To(Equal(1))
			Expect(statuses(s.Out.Contents())).To(Equal(map[string][]string{ns: {"invalid"}}))
			Expect(string(s.Err.Contents())).To(ContainSubstring(ns))

			By("looking for it in every namespace: ours is invalid, the rest are missing, all get rows")
			s = demotest.Run(bin, "", "ca", "--kubeconfig", suite.Kubeconfig(), "-A", "--name", "broken-ca")
			Expect(s.ExitCode()).To(Equal(1))
			got := statuses(s.Out.Contents())
			Expect(got).To(HaveKeyWithValue(ns, []string{"invalid"}))
			Expect(got).To(HaveKeyWithValue("kube-system", []string{"missing"}))
		})
	})

	Describe("settings", func() {
		It("round-trips typed values through a server-side applied ConfigMap", func(ctx SpecContext) {
			ns := suite.Namespace()
			s := demotest.Run(bin, "", "settings", "set", "--kubeconfig", suite.Kubeconfig(), "-n", ns, "--name", "app", "replicas=3", "debug=true", "refreshInterval=90s")
			Expect(s.ExitCode()).To(Equal(0))
			Expect(string(s.Out.Contents())).To(MatchRegexp(`replicas\s+3\s+an integer`))

			s = demotest.Run(bin, "", "settings", "get", "--kubeconfig", suite.Kubeconfig(), "-n", ns, "--name", "app", "-o", "json")
			Expect(s.ExitCode()).To(Equal(0))
			var data map[string]string
			Expect(json.Unmarshal(s.Out.Contents(), &data)).To(Succeed())
			Expect(data).To(Equal(map[string]string{"greeting": "hello", "replicas": "3", "debug": "true", "refreshInterval": "1m30s"}))

			By("finding the typed-configmap field manager on the object")
			var cm corev1.ConfigMap
			Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &cm)).To(Succeed())
			Expect(cm.ManagedFields).To(ContainElement(And(
				HaveField("Manager", "typed-configmap"),
				HaveField("Operation", metav1.ManagedFieldsOperationApply),
			)))

			By("changing one key keeps the others")
			s = demotest.Run(bin, "", "settings", "set", "--kubeconfig", suite.Kubeconfig(), "-n", ns, "--name", "app", "greeting=hi")
			Expect(s.ExitCode()).To(Equal(0))
			Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &cm)).To(Succeed())
			Expect(cm.Data).To(Equal(map[string]string{"greeting": "hi", "replicas": "3", "debug": "true", "refreshInterval": "1m30s"}))
		})

		It("refuses a wrong-typed value, naming key and type, and writes nothing", func(ctx SpecContext) {
			ns := suite.Namespace()
			key := client.ObjectKey{Namespace: ns, Name: "app"}

			s := demotest.Run(bin, "", "settings", "set", "--kubeconfig", suite.Kubeconfig(), "-n", ns, "--name", "app", "replicas=many")
			Expect(s.ExitCode()).To(Equal(2))
			Expect(string(s.Err.Contents())).To(ContainSubstring(`key "replicas": want an integer, got "many"`))
			Expect(apierrors.IsNotFound(suite.Client().Get(ctx, key, &corev1.ConfigMap{}))).To(BeTrue(), "nothing may be created")

			By("leaving an existing ConfigMap untouched")
			Expect(demotest.Run(bin, "", "settings", "set", "--kubeconfig", suite.Kubeconfig(), "-n", ns, "--name", "app", "replicas=2").ExitCode()).To(Equal(0))
			var before corev1.ConfigMap
			Expect(suite.Client().Get(ctx, key, &before)).To(Succeed())
			s = demotest.Run(bin, "", "settings", "set", "--kubeconfig", suite.Kubeconfig(), "-n", ns, "--name", "app", "replicas=3", "refreshInterval=soon")
			Expect(s.ExitCode()).To(Equal(2))
			Expect(string(s.Err.Contents())).To(ContainSubstring(`key "refreshInterval": want a duration`))
			var after corev1.ConfigMap
			Expect(suite.Client().Get(ctx, key, &after)).To(Succeed())
			Expect(after.ResourceVersion).To(Equal(before.ResourceVersion))
			Expect(after.Data["replicas"]).To(Equal("2"))
		})

		It("explains a missing settings ConfigMap", func() {
			s := demotest.Run(bin, "", "settings", "get", "--kubeconfig", suite.Kubeconfig(), "-n", suite.Namespace(), "--name", "absent")
			Expect(s.ExitCode()).To(Equal(1))
			Expect(strings.ToLower(string(s.Err.Contents()))).To(ContainSubstring("not found"))
		})
	})
})
