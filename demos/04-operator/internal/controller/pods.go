package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// CacheOptions returns the manager's cache options: Pods are only cached when
// they carry PodSetLabel, so the operator's memory does not grow with every
// Pod in the cluster.
// START cache OMIT
func CacheOptions() cache.Options {
	hasLabel, err := labels.NewRequirement(workshopv1alpha1.PodSetLabel, selection.Exists, nil)
	if err != nil {
		panic(fmt.Sprintf("building the Pod cache selector: %v", err)) // a constant input: cannot fail
	}
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Label: labels.NewSelector().Add(*hasLabel)},
		},
	}
}

// END cache OMIT

// allPodSets maps a change of the OperatorConfig to every PodSet: its limits
// and defaults apply to all of them.
func (r *PodSetReconciler) allPodSets(ctx context.Context, _ client.Object) []reconcile.Request {
	var list workshopv1alpha1.PodSetList
	if err := r.Client.List(ctx, &list); err != nil {
		log.FromContext(ctx).Error(err, "listing PodSets after an OperatorConfig change")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// operatorConfig returns the OperatorConfig singleton, or nil when there is
// none.
func (r *PodSetReconciler) operatorConfig(ctx context.Context) (*workshopv1alpha1.OperatorConfig, error) {
	var cfg workshopv1alpha1.OperatorConfig
	err := r.Client.Get(ctx, types.NamespacedName{Name: workshopv1alpha1.OperatorConfigName}, &cfg)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get OperatorConfig %s: %w", workshopv1alpha1.OperatorConfigName, err)
	}
	return &cfg, nil
}

// createPods creates n Pods from the PodSet's template. Each create is
// recorded in the expectations before the next reconcile may run, so a stale
// cache cannot make the operator create the same Pod twice.
func (r *PodSetReconciler) createPods(ctx context.Context, ps *workshopv1alpha1.PodSet, cfg *workshopv1alpha1.OperatorConfig, n int) error {
	key := client.ObjectKeyFromObject(ps)
	// START create OMIT
	for range n {
		pod := podFor(ps, cfg)
		if err := controllerutil.SetControllerReference(ps, pod, r.Client.Scheme()); err != nil {
			return fmt.Errorf("set owner of new pod for PodSet %s: %w", key, err)
		}
		err := r.Client.Create(ctx, pod)
		countOp("create", err)
		if err != nil {
			r.Recorder.Eventf(ps, nil, corev1.EventTypeWarning, ReasonPodCreateFailed, "CreatePod", "creating a pod failed: %v", err)
			return fmt.Errorf("create pod for PodSet %s: %w", key, err)
		}
		r.expectations.expectCreate(key, pod.Name)
		log.FromContext(ctx).Info("created pod", "pod", pod.Name)
		r.Recorder.Eventf(ps, pod, corev1.EventTypeNormal, "Created", "CreatePod", "created pod %s", pod.Name)
	}
	// END create OMIT
	return nil
}

// deletePods deletes the given Pods of the PodSet and records each delete in
// the expectations.
func (r *PodSetReconciler) deletePods(ctx context.Context, ps *workshopv1alpha1.PodSet, pods []*corev1.Pod) error {
	key := client.ObjectKeyFromObject(ps)
	for _, pod := range pods {
		// The UID precondition makes sure we delete the Pod we decided on,
		// not a new one that happens to have the same name.
		err := r.Client.Delete(ctx, pod, client.Preconditions{UID: &pod.UID})
		countOp("delete", client.IgnoreNotFound(err))
		if client.IgnoreNotFound(err) != nil {
			r.Recorder.Eventf(ps, pod, corev1.EventTypeWarning, ReasonPodDeleteFailed, "DeletePod", "deleting pod %s failed: %v", pod.Name, err)
			return fmt.Errorf("delete pod %s of PodSet %s: %w", pod.Name, key, err)
		}
		r.expectations.expectDelete(key, pod.UID)
		log.FromContext(ctx).Info("deleted pod", "pod", pod.Name)
		r.Recorder.Eventf(ps, pod, corev1.EventTypeNormal, "ScaledDown", "DeletePod", "deleted pod %s", pod.Name)
	}
	return nil
}
