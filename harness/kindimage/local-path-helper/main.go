// Command local-path-helper creates and removes the directories behind
// local-path-provisioner's volumes on a kind node. The provisioner runs it
// in a helper pod as `local-path-helper -p DIR -s BYTES -m MODE -a ACTION`
// (setupCommand and teardownCommand in the node image's
// default-storage.yaml). kind's own helper image runs shell scripts with
// busybox, which no Go module provides; this static binary does the same
// two things: `mkdir -m 0777 -p DIR` on create, `rm -rf DIR` on delete.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("p", "", "the volume's directory (absolute)")
	flag.String("s", "", "the volume's size in bytes (not enforced, as in kind)")
	flag.String("m", "", "the volume mode (Filesystem or Block)")
	action := flag.String("a", "", "create or delete")
	flag.Parse()
	if err := run(*dir, *action); err != nil {
		fmt.Fprintf(os.Stderr, "local-path-helper: %v\n", err)
		os.Exit(1)
	}
}

func run(dir, action string) error {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
		return fmt.Errorf("-p %q: want an absolute directory below /", dir)
	}
	switch action {
	case "create":
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		return os.Chmod(dir, 0o777) // as mkdir -m: whatever the umask
	case "delete":
		return os.RemoveAll(dir)
	default:
		return errors.New("-a must be create or delete")
	}
}
