package ops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/image"
)

func TestManifests(t *testing.T) {
	tests := []struct {
		name         string
		opts         DeployOptions
		wantImage    string
		wantReplicas int32
		wantArgsTail []string
		wantDigest   string
	}{
		{"defaults: config/manager as checked in", DeployOptions{}, image.DefaultTag, 2, []string{"--health-probe-bind-address=:8081"}, ""},
		{
			"image, replicas, extra args and digest set",
			DeployOptions{Image: "example.com/op:1", Replicas: ptr.To[int32](1), Args: []string{"--zap-log-level=debug"}, Digest: "sha256:abc"},
			"example.com/op:1", 1, []string{"--health-probe-bind-address=:8081", "--zap-log-level=debug"}, "sha256:abc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Manifests(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			var d appsv1.Deployment
			for _, u := range objs {
				kinds = append(kinds, u.GetKind()+"/"+u.GetName())
				if u.GetKind() == "Deployment" {
					if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
						t.Fatal(err)
					}
				}
			}
			if want := []string{"Deployment/" + DeploymentName, "Service/" + MetricsService}; !slices.Equal(kinds, want) {
				t.Fatalf("objects = %v, want %v", kinds, want)
			}
			if d.Namespace != Namespace || *d.Spec.Replicas != tt.wantReplicas {
				t.Errorf("deployment %s/%s with %d replicas, want %s/%s with %d", d.Namespace, d.Name, *d.Spec.Replicas, Namespace, DeploymentName, tt.wantReplicas)
			}
			ctr := d.Spec.Template.Spec.Containers[0]
			if ctr.Name != ContainerName || ctr.Image != tt.wantImage || ctr.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("container %s image %s (%s), want %s image %s (IfNotPresent: a loaded image is never pulled)", ctr.Name, ctr.Image, ctr.ImagePullPolicy, ContainerName, tt.wantImage)
			}
			if !slices.Contains(ctr.Args, "--metrics-secure") || !slices.Contains(ctr.Args, "--leader-elect") {
				t.Errorf("args %v lost --metrics-secure or --leader-elect", ctr.Args)
			}
			if tail := ctr.Args[len(ctr.Args)-len(tt.wantArgsTail):]; !slices.Equal(tail, tt.wantArgsTail) {
				t.Errorf("args end with %v, want %v", tail, tt.wantArgsTail)
			}
			if got := d.Spec.Template.Annotations[ImageDigestAnnotation]; got != tt.wantDigest {
				t.Errorf("digest annotation = %q, want %q", got, tt.wantDigest)
			}
		})
	}
}

func TestRolledOut(t *testing.T) {
	available := func(s corev1.ConditionStatus) []appsv1.DeploymentCondition {
		return []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: s}}
	}
	tests := []struct {
		name   string
		gen    int64
		status appsv1.DeploymentStatus
		want   bool
	}{
		{"all replicas updated and available", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, Conditions: available(corev1.ConditionTrue)}, true},
		{"latest spec not yet observed", 3, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, Conditions: available(corev1.ConditionTrue)}, false},
		{"an old pod still runs", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 3, Conditions: available(corev1.ConditionTrue)}, false},
		{"one not available yet", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1, Conditions: available(corev1.ConditionTrue)}, false},
		{"Available=False", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, Conditions: available(corev1.ConditionFalse)}, false},
		{"no condition yet", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)}, Status: tt.status}
			d.Generation = tt.gen
			if got := RolledOut(d); got != tt.want {
				t.Errorf("RolledOut = %v, want %v", got, tt.want)
			}
		})
	}
}

type refusingLoader struct{ loads int }

var errNoContainers = errors.New("no containers here: use kind")

func (l *refusingLoader) LoadsImages() error { return errNoContainers }
func (l *refusingLoader) LoadImage(context.Context, string) error {
	l.loads++
	return errNoContainers
}

// TestBuildAndDeployRefusesBeforeBuilding: on a cluster that runs no
// containers (kwok) the deploy fails at once with the loader's reason,
// builds nothing and never contacts the API server.
func TestBuildAndDeployRefusesBeforeBuilding(t *testing.T) {
	out := filepath.Join(t.TempDir(), "image.tar")
	l := &refusingLoader{}
	err := BuildAndDeploy(t.Context(), &rest.Config{Host: "https://127.0.0.1:1"}, l,
		image.Options{Package: Package, Out: out}, DeployOptions{})
	if !errors.Is(err, errNoContainers) || !strings.Contains(err.Error(), "in-cluster") || !strings.Contains(err.Error(), "operator:run") {
		t.Fatalf("err = %v, want the loader's refusal", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an image was written (%v)", err)
	}
	if l.loads != 0 {
		t.Errorf("LoadImage called %d times", l.loads)
	}
}
