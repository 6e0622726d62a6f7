// Package dynobje2e is the e2e suite of demo 03 (files built with the e2e tag): it runs
// the dynamic-objects binary against the shared cluster, including a CRD it installs.
package dynobje2e
