// Command hello is a WASI module for the node agent: it greets whoever its
// first argument names (default "world") and exits 0, like a Job's pod.
package main

import (
	"fmt"
	"os"
)

func main() {
	who := "world"
	if len(os.Args) > 1 {
		who = os.Args[1]
	}
	fmt.Printf("hello, %s, from a WebAssembly module\n", who)
}
