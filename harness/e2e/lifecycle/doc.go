// Package lifecycle holds the e2e tests that stop long-running mage
// targets the way a supervisor, an IDE's stop button or CI's timeout does:
// one signal to the top `go tool mage <target>` process alone, not to its
// process group. Every process the target started must be gone within
// 10 s, and so must a cluster it created; targets meant to leave the
// cluster up (demo:*) leave it up and healthy.
package lifecycle
