// Command mage is what `go tool mage` runs in this repository: mage itself
// (github.com/magefile/mage, the version pinned in go.mod), plus one thing
// mage does not do — pass a stop request on to the compiled magefile.
//
// Mage runs the compiled magefile as a child and, for SIGINT, relies on the
// terminal signalling the whole process group; SIGTERM and SIGHUP kill mage
// and leave the child (and the clusters, servers and tests it started)
// running. A supervisor, an IDE's stop button or CI's timeout signals only
// the top process. Here every Ctrl-C, SIGTERM or SIGHUP that reaches this
// process is handed to the compiled magefile as one SIGINT, which cancels
// the running target's context; the magefile leaves the terminal's process
// group (see magefiles/lifecycle.go), so a Ctrl-C is delivered once.
package main

import (
	"os"
	"os/signal"
	"time"

	"github.com/magefile/mage/mage"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// debounce folds the copies of one Ctrl-C (the terminal signals this
// process and `go tool` forwards its own copy) into one stop request. A
// second request later than this forces mage to exit, as in plain mage.
const debounce = time.Second

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, proc.Signals...)
	go func() {
		var last time.Time
		for range sigs {
			if time.Since(last) < debounce {
				continue
			}
			last = time.Now()
			proc.InterruptChildren()
		}
	}()
	os.Exit(mage.Main())
}
