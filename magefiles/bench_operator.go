//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/bench"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Operator measures the PodSet operator on a dedicated 50-node kwok cluster: 1,000 PodSets x 3 until Available vs a raw client-go loop (BENCH_PODSETS, BENCH_QPS, BENCH_BURST, BENCH_MAX_CONCURRENT, BENCH_KEEP=1).
func (Bench) Operator(ctx context.Context) error {
	var opts bench.Options
	if err := opts.FromEnv(os.Getenv); err != nil {
		return err
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
	return res.Print(os.Stdout)
}

// OperatorChaos SIGKILLs and restarts the PodSet operator at random moments (BENCH_KILLS, default 10) while 200 PodSets (BENCH_PODSETS) converge, scale and drain, and checks invariants from an independent pod watch; it fails when one breaks.
func (Bench) OperatorChaos(ctx context.Context) error {
	var opts bench.ChaosOptions
	if err := opts.FromEnv(os.Getenv); err != nil {
		return err
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
