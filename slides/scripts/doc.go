// Package scripts holds the shell commands shown on the slides, one small
// script per slide, and an e2e suite (build tag e2e) that runs every script
// against the shared cluster, checks its exit status and the output the
// slide promises, and then records that output in out/NAME.txt, which the
// slide shows next to the command (slides:check fails when it is missing).
//
// A deck shows a script with `.code scripts/NN-name.sh`; lines ending in
// OMIT (such as the `set -euo pipefail` at the top) run but are not shown.
// Scripts are run with bash from the repository root, with the pinned
// kubectl first on PATH and KUBECONFIG pointing at the shared cluster, which
// is what a learner has after `go tool mage cluster:up`.
package scripts
