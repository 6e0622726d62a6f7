// Package kwok runs a cluster with kwokctl's binary runtime: a real
// kube-apiserver, etcd, controller-manager and scheduler as local processes
// built from pinned sources, with nodes and pods simulated by kwok.
package kwok
