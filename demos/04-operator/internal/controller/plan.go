package controller

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// podGroups sorts the Pods a PodSet owns by what the reconciler may do with
// them.
type podGroups struct {
	// active Pods count towards status.replicas and may be deleted.
	active []*corev1.Pod
	// terminating Pods already have a deletionTimestamp; the reconciler
	// waits for them but never counts them.
	terminating []*corev1.Pod
	// ready is the number of active Pods whose Ready condition is True.
	ready int32
}

// groupPods splits pods into active and terminating ones and counts the ready
// ones. A Pod that has Succeeded or Failed stays active but not ready, so the
// PodSet reports Available=False until someone deletes it; the reconciler then
// replaces it. That keeps the model small: a PodSet's Pods are meant to run
// forever.
func groupPods(pods []corev1.Pod) podGroups {
	var g podGroups
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			g.terminating = append(g.terminating, p)
			continue
		}
		g.active = append(g.active, p)
		if isPodReady(p) {
			g.ready++
		}
	}
	return g
}

func isPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// plan is what one reconcile does to the Pods of a PodSet.
type plan struct {
	// create is the number of Pods to create.
	create int
	// remove are the Pods to delete, newest first.
	remove []*corev1.Pod
}

// computePlan compares the desired number of Pods with the active ones. When
// there are too many it picks the newest Pods (latest creationTimestamp,
// then name, so the order is stable) for deletion: they have done the least
// work and are the least likely to be serving already.
func computePlan(desired int32, active []*corev1.Pod) plan {
	diff := int(desired) - len(active)
	switch {
	case diff > 0:
		return plan{create: diff}
	case diff < 0:
		sorted := append([]*corev1.Pod(nil), active...)
		sort.SliceStable(sorted, func(i, j int) bool {
			ti, tj := sorted[i].CreationTimestamp, sorted[j].CreationTimestamp
			if !ti.Equal(&tj) {
				return tj.Before(&ti)
			}
			return sorted[i].Name > sorted[j].Name
		})
		return plan{remove: sorted[:-diff]}
	default:
		return plan{}
	}
}

// effectiveReplicas applies the OperatorConfig's cap to the PodSet's
// desired replicas. limited reports whether the cap lowered the number.
func effectiveReplicas(ps *workshopv1alpha1.PodSet, cfg *workshopv1alpha1.OperatorConfig) (n int32, limited bool) {
	n = ps.DesiredReplicas()
	if cfg != nil && cfg.Spec.MaxReplicasPerPodSet != nil && n > *cfg.Spec.MaxReplicasPerPodSet {
		return *cfg.Spec.MaxReplicasPerPodSet, true
	}
	return n, false
}

// podFor builds a new Pod from the PodSet's template: labels from the
// template plus the PodSet's PodLabels (so ownedPods finds it), a generated name, and the OperatorConfig's
// default image for containers without one. The caller sets the owner
// reference.
func podFor(ps *workshopv1alpha1.PodSet, cfg *workshopv1alpha1.OperatorConfig) *corev1.Pod {
	tmpl := ps.Spec.Template.DeepCopy()
	labels := make(map[string]string, len(tmpl.Labels)+1)
	for k, v := range tmpl.Labels {
		labels[k] = v
	}
	for k, v := range ps.PodLabels() { // the CRD's rules make these agree; PodLabels wins
		labels[k] = v
	}

	pod := &corev1.Pod{}
	pod.Namespace = ps.Namespace
	pod.GenerateName = fmt.Sprintf("%s-", ps.Name)
	pod.Labels = labels
	pod.Annotations = tmpl.Annotations
	pod.Spec = tmpl.Spec

	if cfg != nil && cfg.Spec.DefaultImage != "" {
		for i := range pod.Spec.InitContainers {
			if pod.Spec.InitContainers[i].Image == "" {
				pod.Spec.InitContainers[i].Image = cfg.Spec.DefaultImage
			}
		}
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Image == "" {
				pod.Spec.Containers[i].Image = cfg.Spec.DefaultImage
			}
		}
	}
	return pod
}
