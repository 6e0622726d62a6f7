// Package controller holds the PodSet reconciler.
//
// The reconciler is built with controller-runtime: it watches PodSets (For),
// the Pods they own (Owns) and the OperatorConfig singleton (Watches), reads
// everything from the manager's informer cache, and converges the number of
// Pods on spec.replicas. The decisions it takes are pure functions
// (plan.go, conditions.go, expectations.go) so they can be unit tested without
// an API server; podset_controller.go only talks to the cluster.
//
// The RBAC markers in podset_controller.go generate config/rbac/role.yaml.
package controller
