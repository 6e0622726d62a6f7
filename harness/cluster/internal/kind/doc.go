// Package kind runs a cluster of real nodes in containers with the kind Go
// library (sigs.k8s.io/kind/pkg/cluster). It needs a working Docker, Podman
// or nerdctl; where none is usable, Create fails with ErrNoContainerRuntime
// before anything is created.
package kind
