// Package ops holds what the mage targets of the PodSet operator do:
// installing the CRDs, the operator's namespace and RBAC into a cluster
// (Install), applying manifests with server-side apply (Apply), building and
// running the operator as a process (BuildOperator, StartOperator),
// deploying its image into a cluster whose nodes run images and removing it
// again (BuildAndDeploy, Deploy, Undeploy), and the scripted live demo
// (Demo).
//
// It is tooling, not the operator: it sits under tools/ so that the
// operator's own tree (cmd, api, internal, config) reads as a kubebuilder
// project, and outside internal/ so that magefiles can import it; the
// targets stay thin wrappers around these functions.
package ops
