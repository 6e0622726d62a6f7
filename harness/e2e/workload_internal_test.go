package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

func TestMissingWorkload(t *testing.T) {
	ready := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	node := func(name string, images []string, change func(*corev1.Node)) corev1.Node {
		n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: slices.Clone(ready)}}
		if images != nil {
			n.Status.Images = []corev1.ContainerImage{{Names: images}, {Names: []string{"registry.k8s.io/pause:3.10"}}}
		}
		if change != nil {
			change(&n)
		}
		return n
	}
	tests := []struct {
		name  string
		nodes []corev1.Node
		want  []string // substrings of the reason; none means no reason
	}{
		{name: "every real node has it", nodes: []corev1.Node{node("a", workload.Names, nil), node("b", workload.Names, nil)}},
		{name: "kwok nodes never pull", nodes: []corev1.Node{node("kwok-0", nil, func(n *corev1.Node) { n.Annotations = map[string]string{"kwok.x-k8s.io/node": "fake"} })}},
		{name: "a tainted node runs no such pods", nodes: []corev1.Node{node("a", workload.Names, nil), node("wasm", nil, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "kubernetes.io/arch", Value: "wasm", Effect: corev1.TaintEffectNoSchedule}}
		})}},
		{name: "a NotReady node does not count", nodes: []corev1.Node{node("down", nil, func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse })}},
		{name: "a node without it", nodes: []corev1.Node{node("a", workload.Names, nil), node("b", []string{"other:1"}, nil)},
			want: []string{WorkloadLabel + ": " + workload.Image + " is not on node(s) b;", "kind load image-archive", "kind:workload"}},
		{name: "the kubelet reports 5 names at most", nodes: []corev1.Node{node("a", []string{"docker.io/library/import@sha256:0", workload.Image, "registry.example/app:1"}, nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MissingWorkload(tt.nodes)
			if len(tt.want) == 0 && got != "" {
				t.Fatalf("got reason %q, want none", got)
			}
			if len(tt.want) > 0 && got == "" {
				t.Fatalf("got no reason, want one mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("reason %q does not mention %q", got, w)
				}
			}
		})
	}
}
