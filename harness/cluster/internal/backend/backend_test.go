package backend

import (
	"strings"
	"testing"
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
