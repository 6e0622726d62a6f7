// Command fail is a WASI module that reports an error on stderr and exits 1
// (or the code in EXIT_CODE), so its pod fails or loops in CrashLoopBackOff.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	code := 1
	if v := os.Getenv("EXIT_CODE"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			code = n
		}
	}
	fmt.Fprintf(os.Stderr, "fail: giving up with exit code %d\n", code)
	os.Exit(code)
}
