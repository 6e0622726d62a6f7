// Package bench is the pod-lister benchmark behind `go tool mage
// bench:podLister` and `bench:clean`: it seeds a cluster with many pods,
// times demo 01's pod-lister against the pinned kubectl listing the same
// pods, and prints a table. It reports figures and never fails on them;
// it fails only when a run cannot be measured fairly (the cluster changed
// during the benchmark, a command failed, the run was interrupted).
//
// RunMeasured, which times a command and samples its peak memory, serves
// every benchmark of the workshop.
package bench
