// Package ports hands out TCP ports for local clusters from a machine-wide
// registry, so that clusters created at the same moment (by several clones,
// users or CI jobs on one machine) never get the same port. kwokctl's own
// choice counts down from 32767 and checks only that a port is free right
// now, so two clusters created within the same second get the same ports.
package ports
