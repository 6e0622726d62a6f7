// Package existing uses a cluster someone else runs, reached through
// KUBECONFIG (or ~/.kube/config). It never creates or deletes anything.
package existing
