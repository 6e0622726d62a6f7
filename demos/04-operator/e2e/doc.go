// Package e2e tests the PodSet operator end to end on the shared workshop
// cluster (kwok by default), with the operator running as a separate process
// the way a learner runs it with `go tool mage operator:run`.
//
// The specs only build with the e2e tag:
//
//	go test -tags e2e ./demos/04-operator/e2e/
//
// `go tool mage test` and `go tool mage e2e` run them against the pipeline's
// cluster; run by hand they create or reuse one through harness/cluster.
package e2e
