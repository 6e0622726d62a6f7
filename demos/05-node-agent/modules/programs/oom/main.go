// Command oom is a WASI module that allocates memory until it is refused,
// to show a pod's memory limit at work (reason OOMKilled).
package main

import "fmt"

func main() {
	var hold [][]byte
	for i := 1; ; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		hold = append(hold, b)
		if i%16 == 0 {
			fmt.Printf("holding %d MiB\n", i)
		}
	}
}
