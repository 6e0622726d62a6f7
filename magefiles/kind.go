//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/kindimage"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
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

// Workload builds the suites' workload image (harness/workload) as a docker archive, unless it is cached, and prints the archive's path as the last line: load it into a cluster the harness did not create with `kind load image-archive PATH --name NAME`.
func (Kind) Workload(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	cache, err := binaries.CacheRoot()
	if err != nil {
		return err
	}
	archive, err := workload.Archive(ctx, root, cache)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "workload image archive, tagged %s:\n", strings.Join(workload.Names, ", "))
	fmt.Println(archive)
	return nil
}
