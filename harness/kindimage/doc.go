// Package kindimage builds, offline, a kind node image for the pinned
// Kubernetes release: no registry, only the Go module proxy and the
// Debian mirror the machine is configured with.
//
// The root filesystem is debootstrapped from Debian (systemd, containerd,
// runc, iptables, the CNI plugins), kind's own base files (entrypoint,
// systemd units, containerd config) are copied from the pinned kind
// module, the node binaries (kubelet, kubeadm, kubectl, crictl) come from
// harness/binaries, and the images kubeadm runs (kube-apiserver,
// kube-controller-manager, kube-scheduler, kube-proxy, etcd, CoreDNS,
// pause) are assembled from the same binaries with go-containerregistry and
// preloaded into the node's containerd under the registry.k8s.io names
// kubeadm expects. A small CNI setup (ptp + host-local, with routes to the
// other nodes' pod CIDRs) stands in for kindnetd, which is not published as
// a Go module. kind's default StorageClass ("standard") is served by
// rancher's local-path-provisioner, built from tools/localpath, with a
// static helper of ours (./local-path-helper) in place of kind's busybox
// scripts; both are preloaded the same way.
//
// The image is tagged with a hash of every input, so a warm Ensure only
// asks the engine whether that tag exists; the tag is set by the last step
// alone, so an interrupted build never leaves an image that is trusted.
package kindimage
