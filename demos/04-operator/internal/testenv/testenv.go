// Package testenv prepares envtest control planes for the operator's tests:
// the project's pinned kube-apiserver and etcd (nothing is downloaded), on
// loopback only, so the tests also run without a network (a laptop offline,
// or the network namespace of `go tool mage offline`).
package testenv

import (
	"context"
	"io"
	"os"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

// Assets returns a directory with kube-apiserver and etcd for envtest: the
// pinned builds from harness/binaries, built into the per-user cache on first
// use (progress goes to w; `go tool mage tools` builds them ahead of time). An
// explicitly set KUBEBUILDER_ASSETS wins, for trying other versions.
func Assets(ctx context.Context, w io.Writer) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	set, err := binaries.Ensure(ctx,
		binaries.WithOnly(binaries.KubeAPIServer, binaries.Etcd),
		binaries.WithProgress(w))
	if err != nil {
		return "", err
	}
	return set.Dir(), nil
}

// Loopback makes env's kube-apiserver bind and advertise 127.0.0.1 (etcd
// already listens on localhost). Without an advertise address, kube-apiserver
// picks the interface of the default route, and with no default route it
// refuses to start ("Unable to find suitable network address"). A loopback
// advertise address is only accepted without the endpoint reconciler, which
// keeps the `kubernetes` Service's endpoints for in-cluster clients; envtest
// runs no Pods, so nothing needs them (kwok/kwokctl.yaml does the same).
func Loopback(env *envtest.Environment) *envtest.Environment {
	api := env.ControlPlane.GetAPIServer()
	api.SecureServing.Address = "127.0.0.1"
	args := api.Configure()
	args.Set("advertise-address", "127.0.0.1")
	args.Set("endpoint-reconciler-type", "none")
	return env
}
