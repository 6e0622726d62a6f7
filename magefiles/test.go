//go:build mage

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/magefile/mage/mg"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/pipeline"
)

// Test runs the unit tests (TEST_RACE=1 adds the race detector), then every e2e suite against the selected cluster (created if needed, deleted afterwards only if created here).
func Test(ctx context.Context) error {
	r, p, err := setup() // bad CLUSTER_* settings fail before anything runs
	if err != nil {
		return err
	}
	if err := ensureBinaries(ctx, binaries.WithOnly(pipeline.TestBinaries(p)...)); err != nil {
		return err
	}
	mg.Deps(Slides.Check)
	if note := slidesBrowserSkipNote(); note != "" {
		fmt.Fprintln(os.Stderr, note)
	}
	if err := r.UnitTests(ctx, os.Getenv(pipeline.RaceEnv) == "1"); err != nil {
		return err
	}
	return runSuites(ctx, r, p, "")
}

// E2e runs the e2e suites only (SUITE=name to pick one) against the selected cluster.
func E2e(ctx context.Context) error {
	r, p, err := setup()
	if err != nil {
		return err
	}
	return runSuites(ctx, r, p, os.Getenv("SUITE"))
}

// runSuites runs the e2e suites selected by want (all when empty).
func runSuites(ctx context.Context, r *pipeline.Runner, p *cluster.Provider, want string) error {
	all, err := r.Suites(ctx)
	if err != nil {
		return err
	}
	suites, err := pipeline.SelectSuites(all, want)
	if err != nil {
		return err
	}
	return r.E2E(ctx, p, suites)
}

// Lint runs gofmt, go vet (also with the e2e and mage tags) and actionlint on .github/workflows.
func Lint(ctx context.Context) error {
	r, err := runner()
	if err != nil {
		return err
	}
	return r.Lint(ctx)
}

// Offline re-runs `test` in a network namespace with only loopback and GOPROXY=off, proving the workshop needs no network.
func Offline(ctx context.Context) error {
	r, p, err := setup()
	if err != nil {
		return err
	}
	return r.Offline(ctx, p.Name(), "test")
}

// Doctor checks Go, the cached binaries, ports, a container engine for kind and network namespaces, and says what to fix.
func Doctor(ctx context.Context) error {
	r, err := runner()
	if err != nil {
		return err
	}
	if pipeline.PrintChecks(os.Stdout, r.Doctor(ctx, os.Getenv)) {
		return errors.New("doctor found problems: see FAIL rows above")
	}
	fmt.Println("all required checks passed")
	return nil
}

// Soak runs the e2e suites COUNT times (default 20) on one cluster (SUITE=a,b picks suites) and prints a pass/fail table per suite; any failure fails it.
func Soak(ctx context.Context) error {
	r, p, err := setup()
	if err != nil {
		return err
	}
	count := 20
	if v := os.Getenv("COUNT"); v != "" {
		if count, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("COUNT=%q is not a number", v)
		}
	}
	all, err := r.Suites(ctx)
	if err != nil {
		return err
	}
	suites, err := pipeline.SelectSuites(all, os.Getenv("SUITE"))
	if err != nil {
		return err
	}
	results, err := r.Soak(ctx, p, suites, count)
	if perr := pipeline.PrintSoak(os.Stdout, results, count); perr != nil && err == nil {
		err = perr
	}
	return err
}
