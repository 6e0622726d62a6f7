package chromium

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the browser in its own process group, so that Close can
// stop its helper processes too, and stops it if this process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group that Launch created for the browser.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
