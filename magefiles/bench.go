//go:build mage

package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/magefile/mage/mg"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeworkshop/kubeworkshop/harness/bench"
	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

// Bench measures the demos; it reports figures and never fails on them.
type Bench mg.Namespace

// PodLister creates 10,000 pods on the cluster (kwok) and compares `pod-lister -A -o name` with the pinned `kubectl get pods -A --chunk-size=500 -o name`: wall time and peak RSS.
func (Bench) PodLister(ctx context.Context) error {
	cs, kubeconfig, err := benchClient(ctx)
	if err != nil {
		return err
	}
	header("bench: seeding 10,000 pods in 10 namespaces")
	if err := bench.Seed(ctx, cs, bench.Seeding{Log: os.Stderr}); err != nil {
		return err
	}
	bins, err := binaries.Ensure(ctx, binaries.WithOnly(binaries.Kubectl), binaries.WithProgress(os.Stderr))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bench-pod-lister-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	lister := filepath.Join(tmp, "pod-lister")
	if err := goBuild(ctx, lister, "./demos/01-pod-lister"); err != nil {
		return err
	}
	header("bench: 3 runs each; best wall time, and peak RSS (VmHWM) of that run")
	results, err := bench.Compare(ctx, []bench.Contender{
		{Name: "pod-lister -A -o name", Argv: []string{lister, "--kubeconfig", kubeconfig, "-A", "-o", "name"}},
		{Name: "kubectl get pods -A --chunk-size=500 -o name", Argv: []string{bins.Path(binaries.Kubectl), "--kubeconfig", kubeconfig, "get", "pods", "-A", "--chunk-size=500", "-o", "name"}},
	}, 3, os.Stderr)
	if err != nil {
		return err
	}
	return bench.PrintPodLister(os.Stdout, results)
}

// Clean deletes the namespaces (and the 10,000 pods) that bench:podLister created, reporting what is left while it waits.
func (Bench) Clean(ctx context.Context) error {
	cs, _, err := benchClient(ctx)
	if err != nil {
		return err
	}
	return bench.Clean(ctx, cs, bench.Seeding{Log: os.Stderr})
}

// benchClient brings the cluster up and returns a fast client for it.
func benchClient(ctx context.Context) (kubernetes.Interface, string, error) {
	p, err := ensureCluster(ctx)
	if err != nil {
		return nil, "", err
	}
	cfg, err := p.RESTConfig()
	if err != nil {
		return nil, "", err
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	cs, err := kubernetes.NewForConfig(cfg)
	return cs, p.KubeconfigPath(), err
}

// goBuild builds a package of this repository into out.
func goBuild(ctx context.Context, out, pkg string) error {
	r, err := runner()
	if err != nil {
		return err
	}
	return r.Run(ctx, nil, "go", "build", "-o", out, pkg)
}
