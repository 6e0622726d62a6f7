package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNoNetworkNamespace means the offline check cannot isolate itself.
var ErrNoNetworkNamespace = errors.New("network namespaces are unavailable")

// OfflineEnv is the environment of the offline re-run: no module proxy,
// and a cluster of its own (the namespace has its own loopback, so a
// cluster started outside it is unreachable from inside). The race
// detector is off there: the same unit tests ran with it already, and the
// offline run is about the network.
func OfflineEnv(clusterName string) []string {
	return []string{"GOPROXY=off", "GOFLAGS=-mod=mod", "CLUSTER_NAME=" + clusterName + "-offline", RaceEnv + "="}
}

// CheckNetworkNamespaces reports whether `unshare -n` can create a network
// namespace and `ip` can bring its loopback up.
func CheckNetworkNamespaces(ctx context.Context) error {
	for _, bin := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s not found (install util-linux and iproute2)", ErrNoNetworkNamespace, bin)
		}
	}
	out, err := exec.CommandContext(ctx, "unshare", "-n", "sh", "-c", "ip link set lo up").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: `unshare -n` failed (%v: %s); it needs root or unprivileged user namespaces", ErrNoNetworkNamespace, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Offline re-runs `go tool mage <target>` inside a new network namespace
// that has only loopback, with GOPROXY=off: it passes only if nothing in
// the pipeline needs the network once binaries and modules are cached.
func (r *Runner) Offline(ctx context.Context, clusterName, target string) error {
	if err := CheckNetworkNamespaces(ctx); err != nil {
		return err
	}
	r.Logf("offline: go tool mage %s in a network namespace with only loopback (GOPROXY=off)", target)
	return r.Run(ctx, OfflineEnv(clusterName), "unshare", "-n", "--", "sh", "-c",
		`ip link set lo up && exec go tool mage "$1"`, "sh", target)
}
