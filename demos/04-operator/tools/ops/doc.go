// Package ops holds what the mage targets of the PodSet operator do:
// installing the CRDs and RBAC into a cluster (Install), applying manifests
// with server-side apply (Apply), and the scripted live demo (Demo).
//
// It lives outside internal/ so that magefiles can import it; the targets stay
// thin wrappers around these functions.
package ops
