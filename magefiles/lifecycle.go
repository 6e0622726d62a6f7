//go:build mage

package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// The compiled magefile stops the same way whatever asked it to: mage's
// generated main cancels the target's context on SIGINT, and here SIGTERM
// and SIGHUP become SIGINT too. It dies with its parent (the `go tool mage`
// wrapper in harness/cmd/mage), and leaves the terminal's process group so
// that the wrapper is the only one that passes a Ctrl-C on: mage treats a
// second SIGINT as "exit now, skip the cleanup".
func init() {
	proc.StopOnSignals()
	if err := proc.DieWithParent(syscall.SIGTERM); err != nil {
		fmt.Fprintln(os.Stderr, "warning:", err)
	}
	if os.Getenv("MAGEFILE_LIST") == "" && os.Getenv("MAGEFILE_HELP") == "" {
		_ = syscall.Setpgid(0, 0)
	}
}
