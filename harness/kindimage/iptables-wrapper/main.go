// Command iptables-wrapper stands in for iptables, ip6tables and their
// -save and -restore tools in the kube-proxy image, as the upstream image's
// iptables-wrapper does: on first use it picks the backend (nft or legacy)
// that already holds the node's rules, by the same count kind's node
// entrypoint uses, points the tools' links at that backend, and runs it.
// kube-proxy must write its rules with the backend the node uses, and that
// choice is the host's, made when the node starts.
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const dir = "/usr/sbin"

var tools = []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"}

func main() {
	mode := "legacy"
	if rules("xtables-nft-multi") > rules("xtables-legacy-multi") {
		mode = "nft"
	}
	multi := "xtables-" + mode + "-multi"
	for _, t := range tools {
		// Best effort: a later call that finds the links replaced runs
		// the backend directly.
		tmp := filepath.Join(dir, "."+t+".tmp")
		_ = os.Remove(tmp)
		if os.Symlink(multi, tmp) == nil {
			_ = os.Rename(tmp, filepath.Join(dir, t))
		}
	}
	argv := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	err := syscall.Exec(filepath.Join(dir, multi), argv, os.Environ())
	fmt.Fprintf(os.Stderr, "iptables-wrapper: run %s: %v\n", multi, err)
	os.Exit(1)
}

// rules counts the rules both address families hold in one backend.
func rules(multi string) int {
	n := 0
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cmd := exec.CommandContext(ctx, filepath.Join(dir, multi))
		cmd.Args = []string{save} // the multi-call binary dispatches on argv[0]
		out, _ := cmd.Output()
		cancel()
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if bytes.HasPrefix(sc.Bytes(), []byte("-")) {
				n++
			}
		}
	}
	return n
}
