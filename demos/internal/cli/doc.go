// Package cli holds the plumbing shared by the workshop's client demos: kubectl-style
// connection flags (--kubeconfig, --context, -n, -A), output-format parsing, a bounded
// reachability check that names the API server it tried, exit codes (0 success,
// 1 runtime error, 2 usage error) and small helpers for printing tables.
//
// It deliberately contains no demo logic, so each demo's own package stays the place to
// read how the Kubernetes client libraries are used.
package cli
