//go:build e2e

package e2e

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

var _ = Describe("installing with kubectl, as a kubebuilder user would", Ordered, func() {
	var config string
	BeforeAll(func(ctx SpecContext) {
		prepare(ctx)
		root, err := repo.Root("")
		Expect(err).NotTo(HaveOccurred())
		config = filepath.Join(root, "demos", "04-operator", "config")
	})

	It("applies the CRDs with client-side kubectl apply -f (each fits the last-applied annotation)", func(ctx SpecContext) {
		out, err := kubectl(ctx, "", "apply", "-f", filepath.Join(config, "crd", "bases"))
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("customresourcedefinition.apiextensions.k8s.io/podsets.workshop.example.com"))
		Expect(out).To(ContainSubstring("customresourcedefinition.apiextensions.k8s.io/operatorconfigs.workshop.example.com"))
	})

	It("accepts the default kustomize overlay (kubectl apply -k, server-side dry run)", func(ctx SpecContext) {
		out, err := kubectl(ctx, "", "apply", "-k", filepath.Join(config, "default"), "--dry-run=server")
		Expect(err).NotTo(HaveOccurred(), out)
		for _, want := range []string{
			"deployment.apps/podset-operator",
			"clusterrole.rbac.authorization.k8s.io/podset-operator",
			"role.rbac.authorization.k8s.io/podset-operator",
			"clusterrole.rbac.authorization.k8s.io/podset-operator-metrics-reader",
			"service/podset-operator-metrics",
		} {
			Expect(out).To(ContainSubstring(want))
		}
	})
})
