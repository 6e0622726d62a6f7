//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/bench"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Operator measures the PodSet operator on a dedicated 50-node kwok cluster: 1,000 PodSets x 3 until Available vs a raw client-go loop (BENCH_PODSETS, BENCH_QPS, BENCH_BURST, BENCH_MAX_CONCURRENT, BENCH_KEEP=1).
func (Bench) Operator(ctx context.Context) error {
	opts := bench.Options{}
	for _, e := range []struct {
		name string
		set  func(string) error
	}{
		{"BENCH_PODSETS", func(v string) (err error) { opts.PodSets, err = strconv.Atoi(v); return }},
		{"BENCH_QPS", func(v string) (err error) { opts.QPS, err = strconv.ParseFloat(v, 64); return }},
		{"BENCH_BURST", func(v string) (err error) { opts.Burst, err = strconv.Atoi(v); return }},
		{"BENCH_MAX_CONCURRENT", func(v string) (err error) { opts.MaxConcurrent, err = strconv.Atoi(v); return }},
	} {
		if v := os.Getenv(e.name); v != "" {
			if err := e.set(v); err != nil {
				return fmt.Errorf("%s=%q: %w", e.name, v, err)
			}
		}
	}
	root, err := repo.Root("")
	if err != nil {
		return err
	}

	name := "podset-bench"
	if n := os.Getenv("CLUSTER_NAME"); n != "" {
		name = n + "-bench" // never collide with another user's benchmark
	}
	header("bench: a dedicated kwok cluster with 50 nodes (%s)", name)
	p, err := cluster.New(cluster.WithProvider("kwok"), cluster.WithName(name), cluster.WithNodes(50),
		cluster.WithSwitchContext(false), cluster.WithLog(os.Stderr))
	if err != nil {
		return err
	}
	if os.Getenv("BENCH_KEEP") != "" {
		if _, err := p.Up(ctx); err != nil {
			return err
		}
	} else {
		release, err := p.UpForRun(ctx)
		if err != nil {
			return err
		}
		defer func() {
			if err := release(); err != nil {
				fmt.Fprintf(os.Stderr, "deleting the bench cluster: %v\n", err)
			}
		}()
	}

	opts.Kubeconfig = p.KubeconfigPath()
	opts.WorkDir = filepath.Join(root, "_artifacts", "bench-operator")
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return err
	}
	res, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintf(tw, "pods\t%d\n", res.Pods)
	fmt.Fprintf(tw, "raw client-go loop: created / all Ready\t%s / %s\n", res.RawCreate.Round(time.Millisecond), res.RawReady.Round(time.Millisecond))
	fmt.Fprintf(tw, "operator: PodSets created until all Available\t%s\n", res.OperatorReady.Round(time.Millisecond))
	fmt.Fprintf(tw, "PodSets deleted until they and their pods are gone\t%s\n", res.OperatorDrain.Round(time.Millisecond))
	fmt.Fprintf(tw, "pods created, deleted by the operator\t%.0f, %.0f\n", res.PodCreates, res.PodDeletes)
	fmt.Fprintf(tw, "reconciles (per second)\t%.0f (%.1f/s)\n", res.Reconciles, res.ReconcilesPerSec)
	fmt.Fprintf(tw, "reconcile errors, failed pod operations\t%.0f, %.0f\n", res.ReconcileErrors, res.PodOpErrors)
	fmt.Fprintf(tw, "operator peak RSS\t%s\n", mib(res.OperatorPeakRSS))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Printf("\nthroughput ratio operator/raw: %.2f (goal: at least 0.5) — %s\n", res.Ratio(), verdict(res.Ratio() >= 0.5))
	fmt.Printf("errors other than conflicts: %.0f (goal: 0) — %s\n", res.ReconcileErrors+res.PodOpErrors,
		verdict(res.ReconcileErrors+res.PodOpErrors == 0))
	fmt.Println("(figures only; the benchmark never fails on them)")
	return nil
}
