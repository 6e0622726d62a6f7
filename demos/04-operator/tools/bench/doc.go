// Package bench measures the PodSet operator's throughput against the API
// server's own ceiling: how long 1,000 PodSets of 3 replicas take to report
// Available, compared with a plain client-go loop creating the same 3,000
// Pods. `go tool mage bench:operator` runs it on a dedicated kwok cluster.
package bench
