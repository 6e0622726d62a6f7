// Command workload is the suites' pod workload (see harness/workload).
// LISTEN sets the address (default 127.0.0.1:8080; the image sets :8080,
// since in a pod the kubelet's probes come from outside the container).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "workload: listen on %s (LISTEN): %v\n", addr, err)
		os.Exit(1)
	}
	code, err := workload.NewServer(log).Run(ctx, l)
	if err != nil {
		fmt.Fprintf(os.Stderr, "workload: %v\n", err)
	}
	os.Exit(code)
}
