// Command workload is the suites' pod workload (see harness/workload).
// LISTEN sets the address (default 127.0.0.1:8080; the image sets :8080,
// since in a pod the kubelet's probes come from outside the container).
// `workload get URL` instead fetches URL once and exits 0 on a 2xx answer,
// 1 otherwise: a client for pod-to-pod checks.
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
	if len(os.Args) == 3 && os.Args[1] == "get" {
		if err := workload.Get(ctx, os.Args[2], os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "workload: %v\n", err)
			os.Exit(1)
		}
		return
	}
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
