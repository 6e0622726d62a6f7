// Package config embeds the operator's Kubernetes manifests and knows how
// they are generated. The layout is kubebuilder's:
//
//	crd/bases   CRDs, written by controller-gen from the markers in api/v1alpha1
//	rbac        role.yaml, written by controller-gen from the RBAC markers in
//	            internal/controller and cmd; bindings and the ServiceAccount
//	manager     the operator's namespace and Deployment
//	default     the kustomize overlay: `kubectl apply -k config/default`
//	samples     an OperatorConfig and two PodSets
//
// Run `go tool mage generate` after changing a marker. TestGeneratedUpToDate
// fails when the checked-in files differ from what controller-gen produces,
// and TestCRDsFitClientSideApply when a CRD grows too large for `kubectl
// apply` without --server-side.
package config
