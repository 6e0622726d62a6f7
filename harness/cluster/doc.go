// Package cluster gives the workshop a Kubernetes cluster through one small
// API, whatever runs it:
//
//   - kwok (the default): a real control plane built from pinned sources
//     running as local processes, with simulated nodes; no Docker needed.
//   - kind: real nodes in containers, for machines with a container engine.
//   - existing: whatever KUBECONFIG points at; never created or deleted.
//
// A Provider is selected with New or NewFromEnv (CLUSTER_PROVIDER,
// CLUSTER_NAME, ...). Up is idempotent: it reuses a healthy cluster of the
// same name and reports whether it created one, so callers delete only what
// they made. Provider also implements e2e-framework's
// support.E2EClusterProvider, so envfuncs.CreateCluster and friends work
// with it unchanged.
package cluster
