// Package v1alpha1 holds the workshop.example.com/v1alpha1 API of the PodSet
// operator: the namespaced PodSet kind and the cluster-scoped OperatorConfig
// singleton.
//
// The kubebuilder markers beside the types and fields are the single source of
// truth for the CustomResourceDefinitions under config/crd/bases; they are
// turned into OpenAPI schemas, CEL rules (x-kubernetes-validations), printer
// columns and subresources by `go tool mage generate`.
//
// +kubebuilder:object:generate=true
// +groupName=workshop.example.com
package v1alpha1
