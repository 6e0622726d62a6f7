// Command env is a WASI module that prints its arguments and its
// environment, sorted, one per line, then the content of every file named
// in FILES (comma-separated), and exits 0: the node agent's tests use it to
// check args, env, ConfigMap values and volumes.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
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
	if files := os.Getenv("FILES"); files != "" {
		for _, f := range strings.Split(files, ",") {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintf(os.Stderr, "env: %v\n", err)
				os.Exit(1)
			}
			fmt.Printf("%s: %s\n", f, b)
		}
	}
}
