// Package nodeagente2e is the e2e suite of demo 05 (files built with the e2e
// tag): it starts the node agent against the shared cluster and checks what
// a kubelet promises: a Ready node with a renewed Lease, pods that run to
// Succeeded or Failed, CrashLoopBackOff, graceful deletion, `kubectl logs`,
// re-adoption after a restart, and a node ordinary pods never land on.
package nodeagente2e
