//go:build !linux

package proc

import (
	"os/exec"
	"syscall"
)

func sysProcAttr(syscall.Signal) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// DieWithParent is a no-op where the parent-death signal does not exist.
func DieWithParent(syscall.Signal) error { return nil }

// InterruptChildren is a no-op where /proc is not available.
func InterruptChildren() {}

// Children returns nil where /proc is not available.
func Children(int) []int { return nil }

// Alive reports whether signal 0 reaches pid where /proc is not available.
func Alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// UnderReaper leaves cmd as it is where subreapers do not exist.
func UnderReaper(*exec.Cmd) error { return nil }

// UnderReaper leaves cmd as it is where subreapers do not exist.
func (Starter) UnderReaper(*exec.Cmd) error { return nil }
