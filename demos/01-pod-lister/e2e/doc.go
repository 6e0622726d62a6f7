// Package podlistere2e is the e2e suite of demo 01 (files built with the e2e tag): it runs
// the pod-lister binary against the shared cluster and compares its output with what
// the API holds.
package podlistere2e
