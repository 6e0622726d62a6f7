// Package readme is the e2e suite that follows the READMEs: the shell
// blocks of README.md and of every demos/*/README.md run top to bottom, as
// a learner types them (see harness/docrun for the markers a block may
// carry). A README edited so that a command no longer works, or no longer
// prints what the README shows, fails `go tool mage test`.
//
// The READMEs create and delete clusters of their own (`cluster:up`,
// `cluster:down`), so the suite gives them a kwok cluster name of its own
// and a home directory of their own, leaving the shared cluster and the
// user's ~/.kube/config alone.
package readme
