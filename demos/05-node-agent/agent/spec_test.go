package agent

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestRunSpecAndVolumes turns a container spec into a run and runs the env
// module with it: args, env from values, ConfigMaps, Secrets and pod
// fields, a ConfigMap volume, and the memory limit.
func TestRunSpecAndVolumes(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cfg"}, Data: map[string]string{"color": "blue"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "sec"}, Data: map[string][]byte{"token": []byte("s3cret")}},
	)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}},
	}
	c := corev1.Container{
		Name: "app", Image: "env", Command: []string{"first"}, Args: []string{"second"},
		Env: []corev1.EnvVar{
			{Name: "FILES", Value: "/etc/config/color"},
			{Name: "COLOR", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "color"}}},
			{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "token"}}},
			{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/config"}, {Name: "scratch", MountPath: "/tmp"}},
		Resources:    corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
	}
	spec, err := runSpec(t.Context(), cs, pod, c, t.TempDir(), 128<<20)
	if err != nil {
		t.Fatal(err)
	}
	if spec.MemoryLimit != 64<<20 || len(spec.Mounts) != 2 {
		t.Errorf("memory limit %d, mounts %+v", spec.MemoryLimit, spec.Mounts)
	}
	s := newTestStore(t)
	m, err := s.Resolve(t.Context(), "env")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	spec.Stdout, spec.Stderr = &out, &out
	if e := s.Run(t.Context(), m, spec, nil); e.Code != 0 {
		t.Fatalf("exit %+v, output %s", e, out.String())
	}
	want := "arg[0]=first\narg[1]=second\nCOLOR=blue\nFILES=/etc/config/color\nNS=ns\nTOKEN=s3cret\n/etc/config/color: blue\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
}

func TestRunSpecMissingConfigMap(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
	c := corev1.Container{Name: "app", EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}}}
	_, err := runSpec(t.Context(), fake.NewClientset(), pod, c, t.TempDir(), 1<<20)
	if err == nil || !strings.Contains(err.Error(), `configmap "nope"`) {
		t.Errorf("err = %v, want it to name the missing ConfigMap", err)
	}
	optional := true
	c.EnvFrom[0].ConfigMapRef.Optional = &optional
	if _, err := runSpec(t.Context(), fake.NewClientset(), pod, c, t.TempDir(), 1<<20); err != nil {
		t.Errorf("an optional missing ConfigMap failed: %v", err)
	}
}
