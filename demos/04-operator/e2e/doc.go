// Package e2e tests the PodSet operator end to end on the shared workshop
// cluster. Where the nodes run images (kind), the operator runs in-cluster
// as config/default's Deployment with only its generated RBAC, as `go tool
// mage operator:deploy` installs it, and its metrics are read through the
// metrics Service with a metrics-reader token; two replicas hand the
// leader-election Lease over when the leader's pod is deleted. Where pods
// are simulated (kwok), it runs as a process on this machine, the way a
// learner runs it with `go tool mage operator:run`.
//
// The specs only build with the e2e tag:
//
//	go test -tags e2e ./demos/04-operator/e2e/
//
// `go tool mage test` and `go tool mage e2e` run them against the pipeline's
// cluster; run by hand they create or reuse one through harness/cluster.
package e2e
