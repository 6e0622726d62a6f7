// Package image builds a container image of the PodSet operator without
// Docker: the operator is cross-compiled as a static binary and put as the
// only layer onto an empty base with go-containerregistry. The result is one
// tarball holding both an OCI image layout (index.json, blobs/) and a Docker
// style manifest.json, which `kind load image-archive`, `ctr images import`,
// `docker load` and `podman load` all accept.
package image
