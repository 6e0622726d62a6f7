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
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/magefile/mage/mage"
	"github.com/magefile/mage/mg"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// debounce folds the copies of one Ctrl-C (the terminal signals this
// process and `go tool` forwards its own copy) into one stop request. A
// second request later than this forces mage to exit, as in plain mage.
const debounce = time.Second

// nestedEnv marks the environment of everything a `go tool mage` run
// starts, so that a mage run inside it (the e2e suites that drive targets
// run `go tool mage` themselves, several at once) is known to be nested.
const nestedEnv = "KUBEWORKSHOP_MAGE_NESTED"

func main() {
	// With a Go build cache, mage recompiles the magefiles on every run,
	// writing magefiles/mage_output_file.go and deleting it afterwards: two
	// runs at once in one clone then fail with "open ./mage_output_file.go:
	// no such file or directory". A nested run takes the binary the outer run
	// has just compiled (MAGEFILE_HASHFAST: found by the magefiles' hash),
	// since nothing can have changed in between.
	if os.Getenv(nestedEnv) != "" && os.Getenv("MAGEFILE_HASHFAST") == "" {
		os.Setenv("MAGEFILE_HASHFAST", "1")
	}
	os.Setenv(nestedEnv, "1")
	os.Setenv("GOFLAGS", withTrimpath(os.Getenv("GOFLAGS")))
	// Two runs started at once from two terminals compile one at a time:
	// the lock is held until the compiled magefile runs. -keep stops mage
	// from deleting its generated main file when a run ends, which would
	// pull it from under a run compiling at that moment; the file is
	// gitignored and rewritten by every compile.
	if os.Getenv("MAGEFILE_HASHFAST") == "" {
		os.Args = append([]string{os.Args[0], "-keep"}, os.Args[1:]...)
		// The lock also ends with this process (os.Exit runs no defers).
		compiled := make(chan struct{})
		go func() {
			waitForCompiledChild()
			close(compiled)
		}()
		go noticeSlowCompile(compiled)
		if unlock, err := lockCompile(); err == nil {
			go func() {
				<-compiled
				unlock()
			}()
		}
	}
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

// slowCompile is how long compiling the magefiles may take before the
// wrapper says what is going on: a warm compile takes well under a second,
// a first one a minute or two, during which mage prints nothing.
const slowCompile = 2 * time.Second

// noticeSlowCompile says, once, that the magefiles are being compiled if
// compiled is not closed within slowCompile.
func noticeSlowCompile(compiled <-chan struct{}) {
	select {
	case <-compiled:
	case <-time.After(slowCompile):
		fmt.Fprintln(os.Stderr, "mage: compiling the magefiles and the harness they import (a first run takes a minute or two; later runs reuse Go's build cache)")
	}
}

// withTrimpath adds -trimpath to a GOFLAGS value that lacks it. The pinned
// binaries are built with -trimpath, and Go's build cache keys every
// compiled package on that flag: with it everywhere — the magefile, the
// pinned binaries, the unit and e2e test binaries, the demos a target runs —
// client-go and the rest of the Kubernetes libraries are compiled once on a
// first run, not once per flag setting.
func withTrimpath(goflags string) string {
	for _, f := range strings.Fields(goflags) {
		if f == "-trimpath" || f == "--trimpath" || f == "-trimpath=true" || f == "--trimpath=true" {
			return goflags
		}
	}
	return strings.TrimSpace("-trimpath " + goflags)
}

// lockCompile takes an exclusive lock on magefiles/.compile.lock in this
// clone, held until unlock or until the process exits.
func lockCompile() (func(), error) {
	root, err := repo.Root("")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(root, "magefiles", ".compile.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// waitForCompiledChild returns once this process has a child running from
// mage's cache of compiled magefiles: compiling is over.
func waitForCompiledChild() {
	cache := mg.CacheDir()
	for {
		for _, pid := range proc.Children(os.Getpid()) {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.HasPrefix(exe, cache) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
