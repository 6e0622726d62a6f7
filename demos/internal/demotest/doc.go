// Package demotest holds helpers the demos' e2e suites share: building a demo's binary
// once per test process and running it with gexec, with a bounded wait for it to exit.
package demotest
