// Command pod-lister lists pods like `kubectl get pods`, with either the
// controller-runtime client or the client-go clientset, one page at a time.
// See README.md for a walkthrough; the logic lives in package podlister.
package main

import (
	"github.com/kubeworkshop/kubeworkshop/demos/01-pod-lister/podlister"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

func main() {
	cli.Main("pod-lister", podlister.Run)
}
