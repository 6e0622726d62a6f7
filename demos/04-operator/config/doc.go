// Package config embeds the operator's Kubernetes manifests (CRDs, RBAC,
// samples and the in-cluster manager) and knows how they are generated.
//
// The CRDs under crd/bases and the ClusterRole in rbac/role.yaml are written by
// controller-gen from the markers in api/v1alpha1 and internal/controller; run
// `go tool mage generate` after changing a marker. TestGeneratedUpToDate fails
// when the checked-in files differ from what controller-gen produces.
package config
