package server

import "syscall"

// sysProcAttr puts present in its own process group, so that a Ctrl-C in
// the terminal reaches only the caller, which then stops present itself;
// present is killed if the caller dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
