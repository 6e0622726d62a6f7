// Package bench measures and stresses the PodSet operator.
//
// Run compares the operator's throughput with the API server's own ceiling:
// how long 1,000 PodSets of 3 replicas take to report Available, against a
// plain client-go loop creating the same 3,000 Pods (`go tool mage
// bench:operator`). Chaos SIGKILLs and restarts the operator at random
// moments while PodSets converge, scale and drain, and checks invariants from
// an independent watch on Pods (`go tool mage bench:operatorChaos`).
package bench
