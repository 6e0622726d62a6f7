package agent

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Unsupported lists what in pod's spec this node cannot honour; an empty
// list means the agent admits the pod. WebAssembly modules have no Linux
// namespaces, no privileges and no network of their own to configure.
func Unsupported(pod *corev1.Pod) []string {
	var out []string
	s := pod.Spec
	if s.HostNetwork {
		out = append(out, "hostNetwork")
	}
	if s.HostPID || s.HostIPC {
		out = append(out, "hostPID/hostIPC")
	}
	if len(s.InitContainers) > 0 {
		out = append(out, "init containers")
	}
	if len(s.EphemeralContainers) > 0 {
		out = append(out, "ephemeral containers")
	}
	for _, v := range s.Volumes {
		switch {
		case v.EmptyDir != nil, v.ConfigMap != nil, v.Secret != nil:
		case v.Projected != nil: // the service account token every pod gets; not mounted
		default:
			out = append(out, fmt.Sprintf("volume %q (only emptyDir, configMap and secret volumes)", v.Name))
		}
	}
	for _, c := range s.Containers {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			out = append(out, fmt.Sprintf("privileged container %q", c.Name))
		}
		if c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil {
			out = append(out, fmt.Sprintf("probes on container %q", c.Name))
		}
		if c.Lifecycle != nil {
			out = append(out, fmt.Sprintf("lifecycle hooks on container %q", c.Name))
		}
		for _, m := range c.VolumeMounts {
			if m.SubPath != "" || m.SubPathExpr != "" {
				out = append(out, fmt.Sprintf("subPath mount %q in container %q", m.MountPath, c.Name))
			}
		}
	}
	return out
}

// runSpec turns container c of pod into a module run: its args (command
// and args: the module itself is the entrypoint), its
// environment (values, ConfigMap and Secret keys, pod fields) and its
// volume mounts. A missing ConfigMap or key is an error whose text the
// container shows with reason CreateContainerConfigError.
func runSpec(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, c corev1.Container, volumeRoot string, defaultMemory uint64) (RunSpec, error) {
	spec := RunSpec{Args: append(slices.Clone(c.Command), c.Args...), MemoryLimit: defaultMemory}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && q.Value() > 0 {
		spec.MemoryLimit = uint64(q.Value())
	}
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, from := range c.EnvFrom {
		data, err := sourceData(ctx, cs, pod.Namespace, from.ConfigMapRef, from.SecretRef)
		if err != nil {
			return spec, err
		}
		for _, k := range slices.Sorted(maps.Keys(data)) {
			set(from.Prefix+k, data[k])
		}
	}
	for _, e := range c.Env {
		v, err := envValue(ctx, cs, pod, e)
		if err != nil {
			return spec, fmt.Errorf("env %s: %w", e.Name, err)
		}
		set(e.Name, v)
	}
	for _, k := range order {
		spec.Env = append(spec.Env, k+"="+env[k])
	}
	for _, m := range c.VolumeMounts {
		mt, ok, err := mountFor(ctx, cs, pod, m, volumeRoot)
		if err != nil {
			return spec, err
		}
		if ok {
			spec.Mounts = append(spec.Mounts, mt)
		}
	}
	return spec, nil
}

func envValue(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, e corev1.EnvVar) (string, error) {
	src := e.ValueFrom
	switch {
	case src == nil:
		return e.Value, nil
	case src.ConfigMapKeyRef != nil:
		r := src.ConfigMapKeyRef
		return key(ctx, cs, pod.Namespace, "configmap", r.Name, r.Key, r.Optional)
	case src.SecretKeyRef != nil:
		r := src.SecretKeyRef
		return key(ctx, cs, pod.Namespace, "secret", r.Name, r.Key, r.Optional)
	case src.FieldRef != nil:
		switch p := src.FieldRef.FieldPath; p {
		case "metadata.name":
			return pod.Name, nil
		case "metadata.namespace":
			return pod.Namespace, nil
		case "metadata.uid":
			return string(pod.UID), nil
		case "spec.nodeName":
			return pod.Spec.NodeName, nil
		case "spec.serviceAccountName":
			return pod.Spec.ServiceAccountName, nil
		case "status.podIP", "status.hostIP":
			return pod.Status.HostIP, nil
		default:
			return "", fmt.Errorf("fieldRef %s is not supported by this node", p)
		}
	default:
		return "", fmt.Errorf("this kind of valueFrom is not supported by this node")
	}
}

func key(ctx context.Context, cs kubernetes.Interface, ns, kind, name, k string, optional *bool) (string, error) {
	var data map[string]string
	var err error
	if kind == "configmap" {
		data, err = sourceData(ctx, cs, ns, &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: optional}, nil)
	} else {
		data, err = sourceData(ctx, cs, ns, nil, &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: optional})
	}
	if err != nil {
		return "", err
	}
	v, ok := data[k]
	if !ok && (optional == nil || !*optional) {
		return "", fmt.Errorf("couldn't find key %s in %s %s/%s", k, kind, ns, name)
	}
	return v, nil
}

// sourceData reads a ConfigMap's or a Secret's data as strings; an
// optional one that does not exist reads as empty.
func sourceData(ctx context.Context, cs kubernetes.Interface, ns string, cm *corev1.ConfigMapEnvSource, sec *corev1.SecretEnvSource) (map[string]string, error) {
	switch {
	case cm != nil:
		obj, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil {
			if cm.Optional != nil && *cm.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("configmap %q: %w", cm.Name, err)
		}
		out := maps.Clone(obj.Data)
		for k, v := range obj.BinaryData {
			out[k] = string(v)
		}
		return out, nil
	case sec != nil:
		obj, err := cs.CoreV1().Secrets(ns).Get(ctx, sec.Name, metav1.GetOptions{})
		if err != nil {
			if sec.Optional != nil && *sec.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %q: %w", sec.Name, err)
		}
		out := map[string]string{}
		for k, v := range obj.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// mountFor turns a volume mount into a module mount: an emptyDir is a
// directory under volumeRoot, a ConfigMap or Secret an in-memory read-only
// file system. The service account token's projected volume is not mounted.
func mountFor(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, m corev1.VolumeMount, volumeRoot string) (Mount, bool, error) {
	for _, v := range pod.Spec.Volumes {
		if v.Name != m.Name {
			continue
		}
		switch {
		case v.EmptyDir != nil:
			dir := filepath.Join(volumeRoot, string(pod.UID), v.Name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return Mount{}, false, fmt.Errorf("emptyDir %s: %w", v.Name, err)
			}
			return Mount{Path: m.MountPath, Dir: dir, ReadOnly: m.ReadOnly}, true, nil
		case v.ConfigMap != nil, v.Secret != nil:
			var data map[string]string
			var err error
			var items []corev1.KeyToPath
			if v.ConfigMap != nil {
				items = v.ConfigMap.Items
				data, err = sourceData(ctx, cs, pod.Namespace, &corev1.ConfigMapEnvSource{LocalObjectReference: v.ConfigMap.LocalObjectReference, Optional: v.ConfigMap.Optional}, nil)
			} else {
				items = v.Secret.Items
				data, err = sourceData(ctx, cs, pod.Namespace, nil, &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.Secret.SecretName}, Optional: v.Secret.Optional})
			}
			if err != nil {
				return Mount{}, false, fmt.Errorf("volume %s: %w", v.Name, err)
			}
			files := fstest.MapFS{}
			if len(items) == 0 {
				for k, val := range data {
					files[k] = &fstest.MapFile{Data: []byte(val), Mode: 0o444}
				}
			}
			for _, it := range items {
				files[strings.TrimPrefix(it.Path, "/")] = &fstest.MapFile{Data: []byte(data[it.Key]), Mode: 0o444}
			}
			return Mount{Path: m.MountPath, FS: files, ReadOnly: true}, true, nil
		}
		return Mount{}, false, nil
	}
	return Mount{}, false, fmt.Errorf("volume mount %q names no volume of the pod", m.Name)
}
