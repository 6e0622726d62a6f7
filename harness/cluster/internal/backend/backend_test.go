package backend

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestEnvWithoutKubeconfigUnder(t *testing.T) {
	const cache = "/home/u/.cache/kubeworkshop"
	tests := []struct {
		name, kubeconfig string
		dropped          bool
	}{
		{"a standalone file in the cache", cache + "/kwok/clusters/w/kubeconfig.yaml", true},
		{"a list with one entry in the cache", "/home/u/.kube/config:" + cache + "/kind/w/kubeconfig.yaml", true},
		{"the user's file", "/home/u/.kube/config", false},
		{"a sibling whose name starts with ..", "/home/u/.cache/..kubeworkshop/config", false},
		{"the cache's parent", "/home/u/.cache/config", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := EnvWithoutKubeconfigUnder([]string{"A=1", "KUBECONFIG=" + tt.kubeconfig}, cache)
			kept := strings.Join(env, "\n")
			if strings.Contains(kept, "KUBECONFIG=") == tt.dropped {
				t.Errorf("KUBECONFIG=%s: dropped=%v, want %v", tt.kubeconfig, !strings.Contains(kept, "KUBECONFIG="), tt.dropped)
			}
			if !strings.Contains(kept, "A=1") {
				t.Errorf("other variables must be kept")
			}
		})
	}
}

func TestCleanupDeadline(t *testing.T) {
	live, cancelLive := context.WithCancel(t.Context())
	defer cancelLive()
	dead, cancelDead := context.WithCancel(t.Context())
	cancelDead()
	for _, tt := range []struct {
		name     string
		ctx      context.Context
		min, max time.Duration
	}{
		{"after a failure: time for kind to delete its containers", live, time.Minute, 2 * time.Minute},
		{"after Ctrl-C: inside mage's 5 s grace period", dead, time.Second, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := Cleanup(tt.ctx)
			defer cancel()
			if ctx.Err() != nil {
				t.Fatalf("cleanup context is already done: %v", ctx.Err())
			}
			deadline, ok := ctx.Deadline()
			if left := time.Until(deadline); !ok || left < tt.min || left > tt.max {
				t.Errorf("deadline in %v, want between %v and %v", left, tt.min, tt.max)
			}
		})
	}
}
