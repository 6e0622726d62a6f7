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
	kubeconfig, workDir, release, err := benchCluster(ctx, "bench", 50)
	if err != nil {
		return err
	}
	defer release()
	opts.Kubeconfig, opts.WorkDir = kubeconfig, workDir
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

// OperatorChaos SIGKILLs and restarts the PodSet operator at random moments (BENCH_KILLS, default 10) while 200 PodSets (BENCH_PODSETS) converge, scale and drain, and checks invariants from an independent pod watch; it fails when one breaks.
func (Bench) OperatorChaos(ctx context.Context) error {
	opts := bench.ChaosOptions{}
	for name, dst := range map[string]*int{"BENCH_PODSETS": &opts.PodSets, "BENCH_KILLS": &opts.Kills} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s=%q: %w", name, v, err)
			}
			*dst = n
		}
	}
	kubeconfig, workDir, release, err := benchCluster(ctx, "chaos", 10)
	if err != nil {
		return err
	}
	defer release()
	opts.Kubeconfig, opts.WorkDir = kubeconfig, workDir
	res, err := bench.Chaos(ctx, opts)
	if err != nil {
		return err
	}
	if err := res.Print(os.Stdout); err != nil {
		return err
	}
	if len(res.Violations) > 0 {
		return fmt.Errorf("%d invariants broken under chaos", len(res.Violations))
	}
	return nil
}

// benchCluster brings up a dedicated kwok cluster named after CLUSTER_NAME
// and the purpose (so it never collides with another user's), returning its
// kubeconfig, a work directory, and a release that deletes the cluster
// unless BENCH_KEEP is set.
func benchCluster(ctx context.Context, purpose string, nodes int) (kubeconfig, workDir string, release func(), err error) {
	root, err := repo.Root("")
	if err != nil {
		return "", "", nil, err
	}
	name := "podset-" + purpose
	if n := os.Getenv("CLUSTER_NAME"); n != "" {
		name = n + "-" + purpose
	}
	header("bench: a dedicated kwok cluster with %d nodes (%s)", nodes, name)
	p, err := cluster.New(cluster.WithProvider("kwok"), cluster.WithName(name), cluster.WithNodes(nodes),
		cluster.WithSwitchContext(false), cluster.WithLog(os.Stderr))
	if err != nil {
		return "", "", nil, err
	}
	release = func() {}
	if os.Getenv("BENCH_KEEP") != "" {
		_, err = p.Up(ctx)
	} else {
		var done func() error
		if done, err = p.UpForRun(ctx); err == nil {
			release = func() {
				if err := done(); err != nil {
					fmt.Fprintf(os.Stderr, "deleting the bench cluster: %v\n", err)
				}
			}
		}
	}
	if err != nil {
		return "", "", nil, err
	}
	workDir = filepath.Join(root, "_artifacts", "bench-operator-"+purpose)
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		release()
		return "", "", nil, err
	}
	return p.KubeconfigPath(), workDir, release, nil
}
