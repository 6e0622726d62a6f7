// Package dynobj is demo 03 of the workshop: fully untyped access to the Kubernetes API.
//
// Nothing here knows a Go type for the objects it handles. What resources exist is
// learned at run time from the discovery API, a RESTMapper turns the user's words
// ("po", "deployments.apps", "Node", a custom resource's short name) into a
// group/version/resource, and objects travel as unstructured.Unstructured maps, read
// either with the client-go dynamic client or with the controller-runtime client.
// Apply uses server-side apply and handles manifests that define a CRD and its
// instances together by waiting for the CRD to be Established and refreshing the mapper.
// The lesson is dynamic.go; the rest is plumbing.
package dynobj
