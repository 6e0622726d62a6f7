// Package e2e is the workshop's ginkgo end-to-end harness, built on
// sigs.k8s.io/e2e-framework.
//
// A suite package (test files with the `e2e` build tag) declares
//
//	var suite = e2e.NewSuite("smoke")
//
//	func TestE2E(t *testing.T) { suite.Run(t) }
//
// NewSuite registers suite-level nodes: the cluster is obtained once (from
// the pipeline through KUBEWORKSHOP_E2E_KUBECONFIG, or else created or
// reused through harness/cluster and deleted afterwards only if this suite
// created it), every spec gets a fresh namespace (Suite.Namespace) that is
// deleted after it, and when a spec fails the namespace's objects, events
// and pod logs are written under _artifacts/<suite>/<spec>/ before the
// namespace goes away. Ordered containers whose specs share objects create
// a namespace in BeforeAll with Suite.NewNamespace; it is dumped too.
package e2e
