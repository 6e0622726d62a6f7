// Package pipeline holds the logic behind the mage targets that presenters,
// learners and CI run: the test pipeline (unit tests, then every e2e suite
// against one shared cluster), lint, the offline re-run inside a network
// namespace, and the doctor's environment checks. The targets in magefiles/
// only turn environment variables into calls of this package.
package pipeline
