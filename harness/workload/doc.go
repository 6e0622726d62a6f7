// Package workload is the one small program the suites run in pods on real
// nodes, and its image: an HTTP server with /healthz and /readyz that logs
// a line per request and exits with a given code on demand
// (/exit?code=N). The image is built from this repository's source with
// go-containerregistry, so no suite depends on pulling an image.
package workload
