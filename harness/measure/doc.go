// Package measure holds what the workshop's benchmarks share: a bounded
// parallel loop that reports the first failure (or an interruption) instead
// of partial success, and a process's peak resident memory.
package measure
