package proc

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func sysProcAttr(sig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
}

// DieWithParent asks the kernel to send sig to this process when its parent
// exits (Linux's parent-death signal). If the parent is already gone
// (this process was re-parented before the call), sig is raised at once.
func DieWithParent(sig syscall.Signal) error {
	ppid := os.Getppid()
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0); err != nil {
		return fmt.Errorf("set parent-death signal: %w", err)
	}
	if os.Getppid() != ppid {
		return syscall.Kill(os.Getpid(), sig)
	}
	return nil
}
