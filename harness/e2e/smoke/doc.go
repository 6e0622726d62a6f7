// Package smoke is the e2e suite that proves the pipeline itself: the
// shared cluster's nodes are Ready, a Deployment's pods run, objects
// round-trip through the API server, and a failed spec's state dump holds
// what a reader needs. Run it with `go tool mage e2e SUITE=smoke` (the
// suite's files carry the e2e build tag).
package smoke
