//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

// Tools builds the pinned cluster binaries (kube-apiserver, etcd, kwok, kind, ...) that are missing or corrupt in the per-user cache.
func Tools(ctx context.Context) error {
	return ensureBinaries(ctx, binaries.WithRepair(true))
}

// ensureBinaries builds the pinned binaries opts select that are missing and
// says where they are.
func ensureBinaries(ctx context.Context, opts ...binaries.Option) error {
	start := time.Now()
	set, err := binaries.Ensure(ctx, append(opts, binaries.WithProgress(os.Stderr))...)
	if err != nil {
		return err
	}
	fmt.Printf("pinned binaries ready in %s (checked in %s)\n", set.Dir(), time.Since(start).Round(time.Millisecond))
	return nil
}

// Bin prints only the directory of the pinned binaries (building what is missing), for `export PATH="$(go tool mage bin):$PATH"`.
func Bin(ctx context.Context) error {
	set, err := binaries.Ensure(ctx, binaries.WithProgress(os.Stderr))
	if err != nil {
		return err
	}
	fmt.Println(set.Dir())
	return nil
}
