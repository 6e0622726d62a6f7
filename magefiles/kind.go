//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/kubeworkshop/kubeworkshop/harness/kindimage"
)

// Kind groups the targets of kind's offline node image.
type Kind mg.Namespace

// Image builds, offline, the kind node image for the pinned Kubernetes (Debian root filesystem, kind's base files, our binaries and component images) unless the engine has it already; prints its reference as the last line.
func (Kind) Image(ctx context.Context) error {
	start := time.Now()
	ref, err := kindimage.Ensure(ctx, kindimage.WithLog(os.Stderr))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "kind node image ready in %s\n", time.Since(start).Round(time.Millisecond))
	fmt.Println(ref)
	return nil
}
