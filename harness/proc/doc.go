// Package proc is the workshop's one policy for child processes: every
// place that starts a long-lived child (the pipeline's go test runs, the
// kwok backend's kwokctl, the operator driver, the slide server, the
// benchmarks) starts it through Command, so that Ctrl-C, SIGTERM and SIGHUP
// end the child and everything it started, within a bounded time, and a
// child never outlives the workshop process that started it.
//
// The policy:
//   - the child runs in a process group of its own, so a stop reaches its
//     children too;
//   - on Linux it gets the parent-death signal, so it is told to stop even
//     when its parent is killed without a chance to clean up;
//   - when the command's context ends, its whole group gets the stop signal
//     (SIGTERM by default), and SIGKILL after a grace period.
//
// Some commands lose track of what they start: envtest runs etcd and
// kube-apiserver in process groups of their own, which a test binary killed
// mid-cleanup leaves behind. Starter.UnderReaper runs such a command under
// a reaper, a copy of the calling executable that is the subreaper of the
// command's descendants, passes the first stop on to the command's group
// and, once the command has exited, stops whatever it left running.
//
// StopOnSignals and DieWithParent serve the top of the process tree: the
// compiled magefile turns SIGTERM and SIGHUP into the cancellation mage
// already performs for SIGINT.
package proc
