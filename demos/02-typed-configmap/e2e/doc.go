// Package typedcme2e is the e2e suite of demo 02 (files built with the e2e tag): it runs
// the typed-configmap binary against the shared cluster.
package typedcme2e
