// Command node-agent joins a Kubernetes cluster as a Node and runs the pods
// bound to it as WebAssembly modules. See README.md for a walkthrough; the
// logic lives in package agent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agent"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

func main() {
	// Ctrl-C, SIGTERM and SIGHUP alike stop the modules, report the pods
	// and mark the node NotReady before the agent exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := agent.Exec(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.Report(os.Stderr, "node-agent", err))
}
