//go:build mage

package main

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"
)

// Cluster brings the workshop cluster up and down.
type Cluster mg.Namespace

// Up creates the cluster (CLUSTER_PROVIDER, default kwok) or reuses a healthy one, and makes its context current.
func (Cluster) Up(ctx context.Context) error {
	p, err := provider()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return err
	}
	fmt.Printf("cluster %q is up; use it with:\n  export KUBECONFIG=%s\n", p.Name(), p.KubeconfigPath())
	return nil
}

// Down deletes the cluster and everything it runs (the existing provider is left alone).
func (Cluster) Down(ctx context.Context) error {
	p, err := provider()
	if err != nil {
		return err
	}
	return p.Down(ctx)
}

// Status shows whether the cluster exists, its API server and how many nodes are Ready.
func (Cluster) Status(ctx context.Context) error {
	p, err := provider()
	if err != nil {
		return err
	}
	s, err := p.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Print(s)
	return nil
}

// Kubeconfig prints only the cluster's kubeconfig path, for `export KUBECONFIG=$(go tool mage cluster:kubeconfig)`; fails when the cluster does not exist.
func (Cluster) Kubeconfig(ctx context.Context) error {
	p, err := provider()
	if err != nil {
		return err
	}
	if err := p.RequireExisting(ctx); err != nil {
		return err
	}
	fmt.Println(p.KubeconfigPath())
	return nil
}
