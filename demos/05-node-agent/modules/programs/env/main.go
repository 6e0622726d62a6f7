// Command env is a WASI module that prints its arguments and its
// environment, sorted, one per line, and exits 0: the node agent's
// e2e suite uses it to check args, env and ConfigMap values.
package main

import (
	"fmt"
	"os"
	"slices"
)

func main() {
	for i, a := range os.Args[1:] {
		fmt.Printf("arg[%d]=%s\n", i, a)
	}
	env := os.Environ()
	slices.Sort(env)
	for _, e := range env {
		fmt.Println(e)
	}
}
