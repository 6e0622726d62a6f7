package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// conflictRetry is how soon a reconcile that lost an optimistic-concurrency
// race runs again; the next attempt reads the newer object from the cache.
const conflictRetry = 200 * time.Millisecond

// writeStatus computes the status from obs and patches it through the status
// subresource when it changed. A merge patch needs no resourceVersion, so
// status writes never conflict with spec changes.
func (r *PodSetReconciler) writeStatus(ctx context.Context, ps *workshopv1alpha1.PodSet, obs observation, groups podGroups) error {
	orig := ps.DeepCopy()
	st := &ps.Status
	st.Replicas = int32(len(groups.active))
	st.ReadyReplicas = groups.ready
	st.ObservedGeneration = ps.Generation
	st.Selector = labels.SelectorFromSet(ps.PodLabels()).String() // the Pods ownedPods lists
	// START status OMIT
	st.Conditions = setConditions(st.Conditions, obs, metav1.NewTime(r.now()))
	if equality.Semantic.DeepEqual(orig.Status, ps.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, ps, client.MergeFrom(orig)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of PodSet %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	// END status OMIT
	return nil
}

// retryOnConflict turns an optimistic-concurrency conflict into a quick
// requeue instead of an error: it only means our cached copy was stale.
func (r *PodSetReconciler) retryOnConflict(ctx context.Context, err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		log.FromContext(ctx).V(1).Info("conflict, retrying", "error", err.Error())
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return ctrl.Result{}, err
}
