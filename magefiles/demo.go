//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
)

// Demo runs the workshop's demos live against the cluster.
type Demo mg.Namespace

// ensureCluster builds any missing binaries and brings the cluster up (or
// reuses it), saying what it does; demo targets call it first.
func ensureCluster(ctx context.Context) (*cluster.Provider, error) {
	p, err := provider()
	if err != nil {
		return nil, err
	}
	if _, err := p.Up(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// header prints a banner saying what a demo is about to show.
func header(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	line := strings.Repeat("─", min(len(msg)+4, 78))
	fmt.Fprintf(os.Stderr, "\n%s\n  %s\n%s\n", line, msg, line)
}

// All brings up the cluster and runs every demo in order.
func (Demo) All(ctx context.Context) error {
	for _, demo := range []func(Demo, context.Context) error{
		Demo.PodLister,
		Demo.TypedConfigMap,
		Demo.DynamicObjects,
		Demo.Operator,
		Demo.NodeAgent,
	} {
		if err := demo(Demo{}, ctx); err != nil {
			return err
		}
	}
	return nil
}
