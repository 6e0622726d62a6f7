package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestCheckLease(t *testing.T) {
	lease := func(renewed time.Duration) *coordinationv1.Lease {
		at := metav1.NewMicroTime(time.Now().Add(-renewed))
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: LeaseNamespace, Name: "n", Annotations: map[string]string{leaseHolderAnn: "host pid 1"}},
			Spec:       coordinationv1.LeaseSpec{RenewTime: &at, LeaseDurationSeconds: ptrTo[int32](40)},
		}
	}
	tests := []struct {
		name    string
		objects []*coordinationv1.Lease
		wantErr string
	}{
		{"no lease", nil, ""},
		{"an expired lease (a crashed agent)", []*coordinationv1.Lease{lease(time.Minute)}, ""},
		{"a fresh lease", []*coordinationv1.Lease{lease(2 * time.Second)}, "already run by another agent (host pid 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset()
			for _, l := range tt.objects {
				if _, err := cs.CoordinationV1().Leases(LeaseNamespace).Create(t.Context(), l, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			err := New(cs, WithNodeName("n"), WithRootDir(t.TempDir())).checkLease(t.Context())
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("checkLease = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRegisterRefusesAKwokNode(t *testing.T) {
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0", Annotations: map[string]string{kwokNodeAnnotation: "fake"}}})
	err := New(cs, WithNodeName("kwok-node-0"), WithRootDir(t.TempDir())).register(t.Context())
	if err == nil || !strings.Contains(err.Error(), "kwok node") {
		t.Errorf("register = %v, want a refusal", err)
	}
}

func TestRegisterAndStatus(t *testing.T) {
	cs := fake.NewClientset()
	a := New(cs, WithNodeName("wasm-0"), WithPort(10260), WithMaxPods(42), WithRootDir(t.TempDir()))
	if err := a.register(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.setStatus(t.Context(), true, "KubeletReady", ""); err != nil {
		t.Fatal(err)
	}
	n, err := cs.CoreV1().Nodes().Get(t.Context(), "wasm-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[corev1.LabelOSStable] != OS || n.Labels[corev1.LabelArchStable] != Arch || len(n.Spec.Taints) != 1 {
		t.Errorf("labels %v, taints %v", n.Labels, n.Spec.Taints)
	}
	if n.Status.Capacity.Pods().Value() != 42 || n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10260 {
		t.Errorf("capacity %v, daemon endpoints %v", n.Status.Capacity, n.Status.DaemonEndpoints)
	}
	var ready *corev1.NodeCondition
	for i, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = &n.Status.Conditions[i]
		}
	}
	if ready == nil || ready.Status != corev1.ConditionTrue {
		t.Fatalf("conditions %v", n.Status.Conditions)
	}

	// Registering again (a restart) keeps what others added.
	n.Labels["team"] = "wasm"
	if _, err := cs.CoreV1().Nodes().Update(t.Context(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.register(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, _ = cs.CoreV1().Nodes().Get(t.Context(), "wasm-0", metav1.GetOptions{})
	if n.Labels["team"] != "wasm" || len(n.Spec.Taints) != 1 {
		t.Errorf("after re-registering: labels %v, taints %v", n.Labels, n.Spec.Taints)
	}
}

func TestReportStatusKeepsHeartbeatsCurrent(t *testing.T) {
	cs := fake.NewClientset()
	a := New(cs, WithNodeName("wasm-0"), WithRootDir(t.TempDir()))
	if err := a.register(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.setStatus(t.Context(), true, "KubeletReady", ""); err != nil {
		t.Fatal(err)
	}
	ready := func() corev1.NodeCondition {
		n, err := cs.CoreV1().Nodes().Get(t.Context(), "wasm-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c
			}
		}
		t.Fatalf("no Ready condition: %v", n.Status.Conditions)
		return corev1.NodeCondition{}
	}
	first := ready()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); a.reportStatus(ctx, 5*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for !ready().LastHeartbeatTime.After(first.LastHeartbeatTime.Time) {
		if time.Now().After(deadline) {
			t.Fatal("the heartbeat time was never refreshed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := ready(); got.Status != corev1.ConditionTrue || !got.LastTransitionTime.Equal(&first.LastTransitionTime) {
		t.Errorf("a refresh must keep Ready=True and its transition time: got %v", got)
	}
}
