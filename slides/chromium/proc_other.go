//go:build !linux

package chromium

import (
	"os/exec"
	"syscall"
)

// sysProcAttr returns no special attributes outside Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the browser process.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
