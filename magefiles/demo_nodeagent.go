//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/modules"
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/nodedemo"
	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// NodeAgent holds the node agent's helper targets (demos/05-node-agent).
type NodeAgent mg.Namespace

// Modules compiles the node agent's example programs to WebAssembly (GOOS=wasip1 GOARCH=wasm) into its module store.
func (NodeAgent) Modules(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	return modules.Build(ctx, root+"/demos/05-node-agent/modules", root+"/demos/05-node-agent/modules/store", os.Stderr)
}

// NodeAgent runs demo 05: a node agent of our own joins the cluster and runs WebAssembly pods through their whole lifecycle.
func (Demo) NodeAgent(ctx context.Context) error {
	c, err := nodeAgentConfig(ctx)
	if err != nil {
		return err
	}
	return nodedemo.Demo(ctx, c)
}

// nodeAgentConfig brings the cluster up and finds what the node agent's demo and benchmark need.
func nodeAgentConfig(ctx context.Context) (nodedemo.Config, error) {
	p, err := ensureCluster(ctx)
	if err != nil {
		return nodedemo.Config{}, err
	}
	root, err := repo.Root("")
	if err != nil {
		return nodedemo.Config{}, err
	}
	bins, err := binaries.Ensure(ctx, binaries.WithOnly(binaries.Kubectl), binaries.WithProgress(os.Stderr))
	if err != nil {
		return nodedemo.Config{}, err
	}
	cfg, err := p.RESTConfig()
	if err != nil {
		return nodedemo.Config{}, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nodedemo.Config{}, fmt.Errorf("creating a clientset: %w", err)
	}
	ip, err := p.HostIP(ctx)
	if err != nil {
		return nodedemo.Config{}, err
	}
	return nodedemo.Config{
		Root: root, Kubeconfig: p.KubeconfigPath(), Kubectl: bins.Path(binaries.Kubectl),
		NodeName: p.Name() + "-wasm", NodeIP: ip, Clientset: cs, Header: header, Out: os.Stdout,
	}, nil
}

// NodeAgent starts the node agent, runs 200 short-lived and 50 long-running WebAssembly pods on it, and prints time to settle, RSS, per-module memory and CPU seconds.
func (Bench) NodeAgent(ctx context.Context) error {
	c, err := nodeAgentConfig(ctx)
	if err != nil {
		return err
	}
	c.NodeName += "-bench"
	return nodedemo.Bench(ctx, c)
}
