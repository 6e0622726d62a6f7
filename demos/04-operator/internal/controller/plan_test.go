package controller

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func pod(name string, age time.Duration, ready, terminating bool) corev1.Pod {
	p := corev1.Pod{}
	p.Name = name
	p.UID = types.UID("uid-" + name)
	p.CreationTimestamp = metav1.NewTime(t0.Add(-age))
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	} else {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	}
	if terminating {
		now := metav1.NewTime(t0)
		p.DeletionTimestamp = &now
	}
	return p
}

func names(pods []*corev1.Pod) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestGroupPods(t *testing.T) {
	tests := []struct {
		name            string
		pods            []corev1.Pod
		wantActive      []string
		wantTerminating []string
		wantReady       int32
	}{
		{"none", nil, []string{}, []string{}, 0},
		{
			"mixed",
			[]corev1.Pod{pod("a", time.Minute, true, false), pod("b", time.Minute, false, false), pod("c", time.Minute, true, true)},
			[]string{"a", "b"}, []string{"c"}, 1,
		},
		{"terminating ready pod is not counted", []corev1.Pod{pod("a", 0, true, true)}, []string{}, []string{"a"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := groupPods(tt.pods)
			if got := names(g.active); !reflect.DeepEqual(got, tt.wantActive) {
				t.Errorf("active = %v, want %v", got, tt.wantActive)
			}
			if got := names(g.terminating); !reflect.DeepEqual(got, tt.wantTerminating) {
				t.Errorf("terminating = %v, want %v", got, tt.wantTerminating)
			}
			if g.ready != tt.wantReady {
				t.Errorf("ready = %d, want %d", g.ready, tt.wantReady)
			}
		})
	}
}

func TestComputePlan(t *testing.T) {
	mk := func(pods ...corev1.Pod) []*corev1.Pod {
		out := make([]*corev1.Pod, len(pods))
		for i := range pods {
			out[i] = &pods[i]
		}
		return out
	}
	tests := []struct {
		name       string
		desired    int32
		active     []*corev1.Pod
		wantCreate int
		wantRemove []string
	}{
		{"scale from zero", 3, nil, 3, []string{}},
		{"in sync", 2, mk(pod("a", time.Hour, true, false), pod("b", time.Minute, true, false)), 0, []string{}},
		{"one missing", 3, mk(pod("a", time.Hour, true, false), pod("b", time.Minute, true, false)), 1, []string{}},
		{
			"surplus goes newest first",
			1,
			mk(pod("old", time.Hour, true, false), pod("newest", time.Second, false, false), pod("mid", time.Minute, true, false)),
			0, []string{"newest", "mid"},
		},
		{
			"same age breaks ties by name, highest first",
			1,
			mk(pod("x-a", time.Minute, true, false), pod("x-c", time.Minute, true, false), pod("x-b", time.Minute, true, false)),
			0, []string{"x-c", "x-b"},
		},
		{"scale to zero", 0, mk(pod("a", time.Hour, true, false), pod("b", time.Minute, true, false)), 0, []string{"b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := names(tt.active)
			p := computePlan(tt.desired, tt.active)
			if p.create != tt.wantCreate {
				t.Errorf("create = %d, want %d", p.create, tt.wantCreate)
			}
			if got := names(p.remove); !reflect.DeepEqual(got, tt.wantRemove) {
				t.Errorf("remove = %v, want %v", got, tt.wantRemove)
			}
			if after := names(tt.active); !reflect.DeepEqual(before, after) {
				t.Errorf("computePlan reordered its input: %v became %v", before, after)
			}
		})
	}
}

func TestEffectiveReplicas(t *testing.T) {
	cfg := func(max *int32) *workshopv1alpha1.OperatorConfig {
		return &workshopv1alpha1.OperatorConfig{Spec: workshopv1alpha1.OperatorConfigSpec{MaxReplicasPerPodSet: max}}
	}
	tests := []struct {
		name        string
		replicas    *int32
		cfg         *workshopv1alpha1.OperatorConfig
		want        int32
		wantLimited bool
	}{
		{"unset means one", nil, nil, 1, false},
		{"no config", ptr.To[int32](7), nil, 7, false},
		{"config without a cap", ptr.To[int32](7), cfg(nil), 7, false},
		{"below the cap", ptr.To[int32](3), cfg(ptr.To[int32](5)), 3, false},
		{"at the cap", ptr.To[int32](5), cfg(ptr.To[int32](5)), 5, false},
		{"above the cap", ptr.To[int32](8), cfg(ptr.To[int32](5)), 5, true},
		{"cap of zero", ptr.To[int32](2), cfg(ptr.To[int32](0)), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := &workshopv1alpha1.PodSet{Spec: workshopv1alpha1.PodSetSpec{Replicas: tt.replicas}}
			got, limited := effectiveReplicas(ps, tt.cfg)
			if got != tt.want || limited != tt.wantLimited {
				t.Errorf("effectiveReplicas = (%d, %v), want (%d, %v)", got, limited, tt.want, tt.wantLimited)
			}
		})
	}
}

func TestPodFor(t *testing.T) {
	ps := &workshopv1alpha1.PodSet{}
	ps.Name, ps.Namespace = "web", "team-a"
	ps.Spec.Template.Labels = map[string]string{"app": "web"}
	ps.Spec.Template.Annotations = map[string]string{"note": "kept"}
	ps.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	ps.Spec.Template.Spec.Containers = []corev1.Container{{Name: "main"}, {Name: "side", Image: "own:1"}}

	tests := []struct {
		name       string
		cfg        *workshopv1alpha1.OperatorConfig
		wantImages []string // init, main, side
	}{
		{"no config leaves images alone", nil, []string{"", "", "own:1"}},
		{
			"default image fills the gaps only",
			&workshopv1alpha1.OperatorConfig{Spec: workshopv1alpha1.OperatorConfigSpec{DefaultImage: "pause:3"}},
			[]string{"pause:3", "pause:3", "own:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := podFor(ps, tt.cfg)
			if p.Namespace != "team-a" || p.GenerateName != "web-" || p.Name != "" {
				t.Errorf("namespace/generateName/name = %q/%q/%q", p.Namespace, p.GenerateName, p.Name)
			}
			wantLabels := map[string]string{"app": "web", workshopv1alpha1.PodSetLabel: "web"}
			if !reflect.DeepEqual(p.Labels, wantLabels) {
				t.Errorf("labels = %v, want %v", p.Labels, wantLabels)
			}
			if p.Annotations["note"] != "kept" {
				t.Errorf("annotations = %v", p.Annotations)
			}
			got := []string{p.Spec.InitContainers[0].Image, p.Spec.Containers[0].Image, p.Spec.Containers[1].Image}
			if !reflect.DeepEqual(got, tt.wantImages) {
				t.Errorf("images = %v, want %v", got, tt.wantImages)
			}
			if _, leaked := ps.Spec.Template.Labels[workshopv1alpha1.PodSetLabel]; leaked || ps.Spec.Template.Spec.Containers[0].Image != "" {
				t.Error("podFor modified the PodSet's template")
			}
		})
	}
}
