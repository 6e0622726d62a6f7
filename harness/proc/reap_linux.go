package proc

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CatchOrphans makes this process the subreaper of its descendants (Linux's
// PR_SET_CHILD_SUBREAPER) until release is called: a process that a child
// leaves behind in a group of its own — envtest's etcd when a test binary is
// stopped by Ctrl-C — becomes this process's child instead of init's.
// release stops each child found then that was not a child before (SIGTERM
// to its group when it leads one, SIGKILL once grace has passed), reaps it,
// ends the subreaping and returns what it stopped, as "name (pid)".
//
// Use it around commands that should leave nothing running, while nothing
// else in this process starts children: a cluster's components, which
// kwokctl leaves running on purpose, must not be caught.
func CatchOrphans(grace time.Duration) (release func() []string, err error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	before := Children(os.Getpid())
	return func() []string {
		var left []int
		var names []string
		for _, pid := range Children(os.Getpid()) {
			if !slices.Contains(before, pid) {
				left = append(left, pid)
				names = append(names, fmt.Sprintf("%s (%d)", command(pid), pid))
			}
		}
		stopAll(left, grace)
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		return names
	}, nil
}

// stopAll sends SIGTERM to each pid's group (or the pid alone when it leads
// none), SIGKILL to those still alive after grace, and reaps them all.
func stopAll(pids []int, grace time.Duration) {
	signalAll := func(sig syscall.Signal) {
		for _, pid := range pids {
			if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
				_ = syscall.Kill(-pid, sig)
			} else {
				_ = syscall.Kill(pid, sig)
			}
		}
	}
	anyAlive := func() bool { return slices.ContainsFunc(pids, Alive) }
	signalAll(syscall.SIGTERM)
	for deadline := time.Now().Add(grace); anyAlive() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if anyAlive() {
		signalAll(syscall.SIGKILL)
	}
	for _, pid := range pids {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
	}
}

// command is the name of pid's executable, from /proc.
func command(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
