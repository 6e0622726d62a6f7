package controller

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

func TestSetConditions(t *testing.T) {
	earlier := metav1.NewTime(t0.Add(-time.Hour))
	now := metav1.NewTime(t0)
	type want struct{ status, reason string }
	tests := []struct {
		name string
		obs  observation
		want map[string]want
	}{
		{
			"all ready",
			observation{desired: 3, requested: 3, active: 3, ready: 3},
			map[string]want{"Available": {"True", ReasonMinimumReplicasReady}, "Progressing": {"False", ReasonComplete}, "Degraded": {"False", ReasonAsExpected}},
		},
		{
			"scaling up",
			observation{desired: 3, requested: 3, active: 1, ready: 1},
			map[string]want{"Available": {"False", ReasonInsufficientReadyPods}, "Progressing": {"True", ReasonScalingUp}, "Degraded": {"False", ReasonAsExpected}},
		},
		{
			"scaling down keeps availability",
			observation{desired: 1, requested: 1, active: 3, ready: 3},
			map[string]want{"Available": {"True", ReasonMinimumReplicasReady}, "Progressing": {"True", ReasonScalingDown}},
		},
		{
			"pods not ready yet",
			observation{desired: 2, requested: 2, active: 2, ready: 1},
			map[string]want{"Available": {"False", ReasonInsufficientReadyPods}, "Progressing": {"True", ReasonWaitingForReadyPods}},
		},
		{
			"old pods still terminating",
			observation{desired: 1, requested: 1, active: 1, ready: 1, terminating: 2},
			map[string]want{"Available": {"True", ReasonMinimumReplicasReady}, "Progressing": {"True", ReasonWaitingForTermination}},
		},
		{
			"zero replicas is available",
			observation{desired: 0, requested: 0},
			map[string]want{"Available": {"True", ReasonMinimumReplicasReady}, "Progressing": {"False", ReasonComplete}},
		},
		{
			"create failed",
			observation{desired: 2, requested: 2, createErr: errors.New("quota exceeded")},
			map[string]want{"Degraded": {"True", ReasonPodCreateFailed}},
		},
		{
			"delete failed",
			observation{desired: 0, requested: 0, active: 1, deleteErr: errors.New("forbidden")},
			map[string]want{"Degraded": {"True", ReasonPodDeleteFailed}},
		},
		{
			"limited by the OperatorConfig",
			observation{desired: 5, requested: 8, limited: true, active: 5, ready: 5},
			map[string]want{"Available": {"True", ReasonMinimumReplicasReady}, "Degraded": {"True", ReasonLimitedByOperatorConfig}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.obs.generation = 4
			conds := setConditions(nil, tt.obs, now)
			if len(conds) != 3 {
				t.Fatalf("got %d conditions, want 3: %+v", len(conds), conds)
			}
			for _, c := range conds {
				if c.ObservedGeneration != 4 || c.Message == "" || !c.LastTransitionTime.Equal(&now) {
					t.Errorf("%s: observedGeneration=%d message=%q lastTransitionTime=%v", c.Type, c.ObservedGeneration, c.Message, c.LastTransitionTime)
				}
				if w, ok := tt.want[c.Type]; ok && (string(c.Status) != w.status || c.Reason != w.reason) {
					t.Errorf("%s = %s/%s, want %s/%s (%s)", c.Type, c.Status, c.Reason, w.status, w.reason, c.Message)
				}
			}
		})
	}

	t.Run("transition time only moves when the status flips", func(t *testing.T) {
		conds := setConditions(nil, observation{desired: 2, active: 2, ready: 2}, earlier)
		conds = setConditions(conds, observation{desired: 3, active: 2, ready: 2}, now) // Available flips to False
		for _, c := range conds {
			wantTime := earlier
			if c.Type == workshopv1alpha1.ConditionAvailable || c.Type == workshopv1alpha1.ConditionProgressing {
				wantTime = now
			}
			if !c.LastTransitionTime.Equal(&wantTime) {
				t.Errorf("%s lastTransitionTime = %v, want %v", c.Type, c.LastTransitionTime, wantTime)
			}
		}
	})
}
