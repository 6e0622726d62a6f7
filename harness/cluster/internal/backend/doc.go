// Package backend defines the contract every cluster backend (kwok, kind,
// existing) implements behind the public harness/cluster.Provider, and the
// helpers they share.
package backend
