// Package controller holds the PodSet reconciler.
//
// podset_controller.go is the lesson: the reconciler and its wiring with
// controller-runtime. It watches PodSets (For), the Pods they own (Owns) and
// the OperatorConfig singleton (Watches), reads everything from the manager's
// informer cache, and converges the number of Pods on spec.replicas. The rest
// supports it: pods.go creates and deletes Pods, record.go keeps the record
// the finalizer guards, status.go writes the status, and the decisions are
// pure functions (plan.go, conditions.go, expectations.go) unit tested
// without an API server.
//
// The RBAC markers in podset_controller.go generate config/rbac/role.yaml.
package controller
