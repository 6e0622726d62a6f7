// Package binaries builds and locates the pinned cluster binaries
// (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd,
// kwok, kwokctl and kind) that the workshop runs instead of pulling images.
// Ensure builds the ones asked for (WithOnly): a target builds what it runs,
// so kind, for example, is built only when a user asks for it.
//
// The binaries are compiled from the separate tools/ module of this
// repository and kept in a per-user cache directory outside the clone, in a
// folder named after a hash of tools/go.mod, tools/go.sum and the build
// recipe. Two clones on one machine share it, and changing a pinned version
// selects a new folder. Every binary is built into a temporary file and
// renamed into place only after it has run, so an interrupted build never
// leaves a half-written binary that a later run trusts.
package binaries
