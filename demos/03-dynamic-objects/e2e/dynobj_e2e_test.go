//go:build e2e

package dynobje2e

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/demotest"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

// START suite OMIT
var suite = e2e.NewSuite("dynamic-objects")

func TestE2E(t *testing.T) { suite.Run(t) }

// END suite OMIT

const pkg = "github.com/kubeworkshop/kubeworkshop/demos/03-dynamic-objects"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// crdManifest defines a CRD in a group unique to this spec, then two instances of it.
func crdManifest(group string) string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gdg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string}
---
apiVersion: %[1]s/v1
kind: Gadget
metadata: {name: one}
spec: {size: small}
---
apiVersion: %[1]s/v1
kind: Gadget
metadata: {name: two}
spec: {size: large}
`, group)
}

var _ = Describe("dynamic-objects", func() {
	var bin string
	BeforeEach(func() { bin = demotest.Build(pkg) })

	run := func(stdin string, args ...string) ([]string, string, int) {
		s := demotest.Run(bin, stdin, append(args, "--kubeconfig", suite.Kubeconfig())...)
		return demotest.Lines(s.Out.Contents()), string(s.Err.Contents()), s.ExitCode()
	}

	It("lists served resources from discovery", func() {
		out, _, code := run("", "resources")
		Expect(code).To(Equal(0))
		Expect(out[0]).To(MatchRegexp(`^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$`))
		Expect(out).To(ContainElement(MatchRegexp(`^pods\s+po\s+v1\s+true\s+Pod$`)))
		Expect(out).To(ContainElement(MatchRegexp(`^deployments\s+deploy\s+apps/v1\s+true\s+Deployment$`)))
	})

	for _, client := range []string{"dynamic", "controller-runtime"} {
		It("gets built-in and grouped resources by any name with the "+client+" client", func(ctx SpecContext) {
			ns := suite.Namespace()
			Expect(suite.Client().Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "colours"}, Data: map[string]string{"sky": "blue"}})).To(Succeed())
			labels := map[string]string{"app": "web"}
			Expect(suite.Client().Create(ctx, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](0),
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: workload.Image}}},
					},
				},
			})).To(Succeed())

			for _, name := range []string{"configmaps", "cm", "ConfigMap", "configmap"} {
				out, errOut, code := run("", "get", name, "-n", ns, "-o", "name", "--client", client)
				Expect(code).To(Equal(0), errOut)
				// kube-root-ca.crt may be there too, published by a controller.
				Expect(out).To(ContainElement("configmap/colours"), "get %s", name)
				Expect(out).NotTo(ContainElement(HavePrefix("deployment")), "get %s", name)
			}
			for _, name := range []string{"deployments.apps", "deploy", "Deployment", "deployments.v1.apps"} {
				out, errOut, code := run("", "get", name, "-n", ns, "-o", "name", "--client", client)
				Expect(code).To(Equal(0), errOut)
				Expect(out).To(Equal([]string{"deployment.apps/web"}), "get %s", name)
			}

			By("reading one object as YAML")
			s := demotest.Run(bin, "", "get", "cm", "colours", "-n", ns, "-o", "yaml", "--client", client, "--kubeconfig", suite.Kubeconfig())
			Expect(s.ExitCode()).To(Equal(0))
			Expect(string(s.Out.Contents())).To(And(ContainSubstring("sky: blue"), ContainSubstring("kind: ConfigMap")))

			By("reading a cluster-scoped kind")
			out, _, code := run("", "get", "Node", "-o", "name", "--client", client)
			Expect(code).To(Equal(0))
			Expect(out).NotTo(BeEmpty())
			Expect(out[0]).To(HavePrefix("node/"))
		})
	}

	It("exits 1 for an unknown resource, naming it and suggesting close matches", func() {
		_, errOut, code := run("", "get", "pdos")
		Expect(code).To(Equal(1))
		Expect(errOut).To(And(ContainSubstring(`resource type "pdos"`), ContainSubstring(`did you mean "pods"`)))
	})

	It("applies a CRD and its instances in one manifest, and re-applying changes nothing", func(ctx SpecContext) {
		ns := suite.Namespace()
		group := ns + ".e2e.kubeworkshop.dev"
		dyn, err := dynamic.NewForConfig(suite.RESTConfig())
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) {
			err := dyn.Resource(crdGVR).Delete(ctx, "gadgets."+group, metav1.DeleteOptions{})
			Expect(err == nil || apierrors.IsNotFound(err)).To(BeTrue(), "delete CRD: %v", err)
		})

		out, errOut, code := run(crdManifest(group), "apply", "-n", ns, "-f", "-")
		Expect(code).To(Equal(0), errOut)
		Expect(out).To(Equal([]string{
			"customresourcedefinition.apiextensions.k8s.io/gadgets." + group + " created",
			"gadget." + group + "/one created",
			"gadget." + group + "/two created",
		}))

		By("reading the custom resource, unknown when the program was built")
		for _, client := range []string{"dynamic", "controller-runtime"} {
			out, errOut, code = run("", "get", "gadgets."+group, "-n", ns, "-o", "name", "--client", client)
			Expect(code).To(Equal(0), errOut)
			Expect(out).To(ConsistOf("gadget."+group+"/one", "gadget."+group+"/two"))
		}

		gadgets := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "gadgets"}
		before, err := dyn.Resource(gadgets).Namespace(ns).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())

		By("re-applying the same manifest")
		out, errOut, code = run(crdManifest(group), "apply", "-n", ns, "-f", "-")
		Expect(code).To(Equal(0), errOut)
		for _, l := range out {
			Expect(l).To(HaveSuffix(" unchanged"))
		}
		after, err := dyn.Resource(gadgets).Namespace(ns).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(rvs(after)).To(Equal(rvs(before)))
	})

	It("reports a conflict without --force-conflicts and takes over with it", func(ctx SpecContext) {
		ns := suite.Namespace()
		manifest := func(value string) string {
			return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {colour: " + value + "}\n"
		}
		_, errOut, code := run(manifest("red"), "apply", "-n", ns, "--field-manager", "team-a", "-f", "-")
		Expect(code).To(Equal(0), errOut)

		_, errOut, code = run(manifest("blue"), "apply", "-n", ns, "--field-manager", "team-b", "-f", "-")
		Expect(code).To(Equal(1))
		Expect(errOut).To(And(ContainSubstring("conflict"), ContainSubstring("team-a"), ContainSubstring("--force-conflicts")))
		var cm corev1.ConfigMap
		Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "shared"}, &cm)).To(Succeed())
		Expect(cm.Data["colour"]).To(Equal("red"))

		out, errOut, code := run(manifest("blue"), "apply", "-n", ns, "--field-manager", "team-b", "--force-conflicts", "-f", "-")
		Expect(code).To(Equal(0), errOut)
		Expect(out).To(Equal([]string{"configmap/shared configured"}))
		Expect(suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "shared"}, &cm)).To(Succeed())
		Expect(cm.Data["colour"]).To(Equal("blue"))
	})

	It("applies nothing from a manifest with a malformed document", func(ctx SpecContext) {
		ns := suite.Namespace()
		manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n"
		_, errOut, code := run(manifest, "apply", "-n", ns, "-f", "-")
		Expect(code).To(Equal(1))
		Expect(errOut).To(ContainSubstring("document 2 is malformed, so nothing was applied"))
		err := suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "first"}, &corev1.ConfigMap{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "document 1 must not be applied: %v", err)
	})

	It("stops at a failing document and says what was and was not applied", func(ctx SpecContext) {
		ns := suite.Namespace()
		manifest := strings.Join([]string{
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\n",
			"apiVersion: nowhere.example/v1\nkind: Phantom\nmetadata: {name: ghost}\n",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n",
		}, "---\n")
		out, errOut, code := run(manifest, "apply", "-n", ns, "-f", "-")
		Expect(code).To(Equal(1))
		Expect(out).To(Equal([]string{"configmap/applied created"}))
		Expect(errOut).To(And(ContainSubstring("document 2 (Phantom"), ContainSubstring("applied 1 document(s)"), ContainSubstring("not applied: document(s) 3")))
		err := suite.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "skipped"}, &corev1.ConfigMap{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue())
	})
})

func rvs(l *unstructured.UnstructuredList) map[string]string {
	m := map[string]string{}
	for _, it := range l.Items {
		m[it.GetName()] = it.GetResourceVersion()
	}
	return m
}
