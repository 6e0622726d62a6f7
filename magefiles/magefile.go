//go:build mage

// The kubeworkshop pipeline. Run `go tool mage -l` for the targets.
//
// Settings come from the environment: CLUSTER_PROVIDER (kwok, kind or
// existing; default kwok), CLUSTER_NAME (default workshop), CLUSTER_NODES,
// CLUSTER_API_PORT, KIND_CONFIG, KIND_NODE_IMAGE, SUITE (for e2e).
package main

import (
	"os"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/pipeline"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// runner runs pipeline commands from the repository root.
func runner() (*pipeline.Runner, error) {
	root, err := repo.Root("")
	if err != nil {
		return nil, err
	}
	return &pipeline.Runner{Root: root}, nil
}

// provider is the cluster selected by the environment, logging to stderr so
// that stdout stays clean for targets that print a value.
func provider() (*cluster.Provider, error) {
	return cluster.NewFromEnv(cluster.WithLog(os.Stderr))
}

// setup returns the runner and the cluster selected by the environment.
func setup() (*pipeline.Runner, *cluster.Provider, error) {
	r, err := runner()
	if err != nil {
		return nil, nil, err
	}
	p, err := provider()
	if err != nil {
		return nil, nil, err
	}
	return r, p, nil
}
