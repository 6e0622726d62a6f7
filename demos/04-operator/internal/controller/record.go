package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// The record is why the PodSet has a finalizer. The operator keeps a
// directory of every PodSet in the cluster: one ConfigMap per PodSet in
// RecordNamespace (the operator's own namespace), which a platform team can
// list without access to every namespace. An ownerReference cannot point
// across namespaces, so the garbage collector cannot delete a record when its
// PodSet goes, as it deletes the Pods. The finalizer makes the API server keep
// a deleted PodSet until the operator has deleted the record; without it, an
// operator that was not running at that moment would never learn of the
// deletion, and the record would stay forever. The price: while no operator
// runs, a deleted PodSet (and so its namespace) stays Terminating.

// DefaultRecordNamespace is where records live unless configured otherwise;
// config/rbac grants the operator access to ConfigMaps there.
const DefaultRecordNamespace = "podset-operator-system"

// RecordName is the name of the PodSet's record: namespace and name joined
// by a dot (namespace names never contain one, so no two PodSets share it).
func RecordName(ps *workshopv1alpha1.PodSet) string { return ps.Namespace + "." + ps.Name }

// register writes the PodSet's record, then adds the finalizer. In that
// order a crash in between leaves a record without a finalizer, and the next
// reconcile, still seeing no finalizer, repeats both.
func (r *PodSetReconciler) register(ctx context.Context, ps *workshopv1alpha1.PodSet) error {
	record := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: r.RecordNamespace,
			Name:      RecordName(ps),
			Labels: map[string]string{
				workshopv1alpha1.RecordNamespaceLabel: ps.Namespace,
				workshopv1alpha1.RecordNameLabel:      ps.Name,
			},
		},
		Data: map[string]string{"namespace": ps.Namespace, "name": ps.Name, "uid": string(ps.UID)},
	}
	if err := r.Client.Create(ctx, record); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("write the record %s/%s of PodSet %s/%s: %w", record.Namespace, record.Name, ps.Namespace, ps.Name, err)
	}
	orig := ps.DeepCopy()
	controllerutil.AddFinalizer(ps, workshopv1alpha1.RecordFinalizer)
	// The optimistic lock makes a concurrent change fail instead of being lost.
	if err := r.Client.Patch(ctx, ps, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("add finalizer to PodSet %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	return nil
}

// finalize deletes the record of a PodSet that is being deleted, then
// removes the finalizer, which lets the API server delete the PodSet.
func (r *PodSetReconciler) finalize(ctx context.Context, ps *workshopv1alpha1.PodSet) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ps, workshopv1alpha1.RecordFinalizer) {
		return ctrl.Result{}, nil // not ours to hold (any more)
	}
	// START drain OMIT
	record := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: r.RecordNamespace, Name: RecordName(ps)}}
	if err := r.Client.Delete(ctx, record); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("delete the record %s/%s: %w", record.Namespace, record.Name, err)
	}
	orig := ps.DeepCopy()
	controllerutil.RemoveFinalizer(ps, workshopv1alpha1.RecordFinalizer)
	if err := r.Client.Patch(ctx, ps, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return r.retryOnConflict(ctx, fmt.Errorf("remove finalizer from PodSet %s/%s: %w", ps.Namespace, ps.Name, err))
	}
	// END drain OMIT
	log.FromContext(ctx).Info("deleted the record; released the PodSet", "record", record.Name)
	r.Recorder.Eventf(ps, nil, corev1.EventTypeNormal, "Released", "Finalize", "deleted record %s/%s; the PodSet can go", record.Namespace, record.Name)
	return ctrl.Result{}, nil
}

// forget drops what the reconciler remembers about a PodSet that is gone.
func (r *PodSetReconciler) forget(key types.NamespacedName) {
	r.expectations.forget(key)
	managedPods.DeleteLabelValues(key.Namespace, key.Name)
}
