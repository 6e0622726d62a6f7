// Command node-agent joins a Kubernetes cluster as a Node and runs the pods
// bound to it as WebAssembly modules. See README.md for a walkthrough; the
// logic lives in package agent.
package main

import (
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agent"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

func main() {
	cli.Main("node-agent", agent.Exec)
}
