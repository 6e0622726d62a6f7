// Command ticker is a WASI module that never ends: it logs a numbered line
// every INTERVAL (default 1s), like a long-running service's pod.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	interval := time.Second
	if v := os.Getenv("INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ticker: INTERVAL=%q: %v\n", v, err)
			os.Exit(2)
		}
		interval = d
	}
	for i := 1; ; i++ {
		fmt.Printf("tick %d\n", i)
		time.Sleep(interval)
	}
}
