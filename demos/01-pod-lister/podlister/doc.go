// Package podlister is demo 01 of the workshop: it lists pods page by page with two client
// styles side by side, the controller-runtime client (client.New, client.List with
// InNamespace, MatchingLabelsSelector, Limit and Continue) and the client-go typed
// clientset (CoreV1().Pods(ns).List with metav1.ListOptions), and can keep watching
// for changes from the list's resourceVersion.
//
// Each page is written out before the next one is requested, so memory use does not
// grow with the number of pods. The lesson is podlister.go; the rest is plumbing.
package podlister
