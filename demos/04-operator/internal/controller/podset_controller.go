package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// Name is the controller's name in logs, metrics and events.
const Name = "podset"

// conflictRetry is how soon a reconcile that lost an optimistic-concurrency
// race runs again; the next attempt reads the newer object from the cache.
const conflictRetry = 200 * time.Millisecond

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

// PodSetReconciler converges the Pods of each PodSet on its spec.replicas.
type PodSetReconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Recorder emits Kubernetes Events about the PodSet.
	Recorder events.EventRecorder
	// now returns the current time; tests may replace it.
	now func() time.Time

	expectations *expectations
}

// +kubebuilder:rbac:groups=workshop.example.com,resources=podsets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=workshop.example.com,resources=podsets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=workshop.example.com,resources=podsets/finalizers,verbs=update
// +kubebuilder:rbac:groups=workshop.example.com,resources=operatorconfigs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler with mgr. maxConcurrent is the
// number of PodSets reconciled in parallel.
func (r *PodSetReconciler) SetupWithManager(mgr ctrl.Manager, maxConcurrent int) error {
	if r.now == nil {
		r.now = time.Now
	}
	if r.expectations == nil {
		r.expectations = newExpectations(30 * time.Second)
	}
	// START setup OMIT
	err := ctrl.NewControllerManagedBy(mgr).
		Named(Name).
		For(&workshopv1alpha1.PodSet{}).
		Owns(&corev1.Pod{}).
		Watches(&workshopv1alpha1.OperatorConfig{}, handler.EnqueueRequestsFromMapFunc(r.allPodSets)).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent}).
		Complete(r)
		// END setup OMIT
	if err != nil {
		return fmt.Errorf("set up the %s controller: %w", Name, err)
	}
	return nil
}

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

// Reconcile brings one PodSet closer to its spec and records what it saw in
// its status. Errors are returned so the workqueue retries with backoff.
func (r *PodSetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// START get OMIT
	var ps workshopv1alpha1.PodSet
	if err := r.Client.Get(ctx, req.NamespacedName, &ps); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone (our finalizer was removed and the object deleted): nothing
			// left to manage.
			r.expectations.forget(req.NamespacedName)
			managedPods.DeleteLabelValues(req.Namespace, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get PodSet %s: %w", req.NamespacedName, err)
	}
	// END get OMIT

	pods, err := r.ownedPods(ctx, &ps)
	if err != nil {
		return ctrl.Result{}, err
	}

	if !ps.DeletionTimestamp.IsZero() {
		return r.drain(ctx, &ps, pods)
	}

	// START finalizer OMIT
	if !controllerutil.ContainsFinalizer(&ps, workshopv1alpha1.DrainFinalizer) {
		orig := ps.DeepCopy()
		controllerutil.AddFinalizer(&ps, workshopv1alpha1.DrainFinalizer)
		if err := r.Client.Patch(ctx, &ps, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return r.retryOnConflict(ctx, fmt.Errorf("add finalizer to PodSet %s: %w", req.NamespacedName, err))
		}
	}
	// END finalizer OMIT

	cfg, err := r.operatorConfig(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}

	groups := groupPods(pods)
	desired, limited := effectiveReplicas(&ps, cfg)
	obs := observation{
		generation:  ps.Generation,
		requested:   ps.DesiredReplicas(),
		desired:     desired,
		limited:     limited,
		active:      int32(len(groups.active)),
		ready:       groups.ready,
		terminating: int32(len(groups.terminating)),
	}

	var result ctrl.Result
	if ok, wait := r.expectations.satisfied(req.NamespacedName, pods); !ok {
		// The cache has not seen our last creates or deletes yet. Acting now
		// would double them; the Pod events will trigger the next reconcile.
		log.FromContext(ctx).V(1).Info("waiting for the cache to observe earlier pod changes")
		result.RequeueAfter = wait
	} else {
		p := computePlan(desired, groups.active)
		obs.createErr = r.createPods(ctx, &ps, cfg, p.create)
		obs.deleteErr = r.deletePods(ctx, &ps, p.remove, "ScaledDown")
	}

	managedPods.WithLabelValues(ps.Namespace, ps.Name).Set(float64(len(groups.active)))

	if err := r.writeStatus(ctx, &ps, obs, groups); err != nil {
		return ctrl.Result{}, err
	}
	if obs.createErr != nil {
		return ctrl.Result{}, obs.createErr
	}
	if obs.deleteErr != nil {
		return ctrl.Result{}, obs.deleteErr
	}
	return result, nil
}

// drain deletes every Pod of a PodSet that is being deleted and releases the
// finalizer once the cache shows none left.
func (r *PodSetReconciler) drain(ctx context.Context, ps *workshopv1alpha1.PodSet, pods []corev1.Pod) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ps, workshopv1alpha1.DrainFinalizer) {
		return ctrl.Result{}, nil // not ours to hold (any more)
	}
	key := client.ObjectKeyFromObject(ps)
	groups := groupPods(pods)
	deleteErr := r.deletePods(ctx, ps, groups.active, "Drained")

	ok, wait := r.expectations.satisfied(key, pods)
	// START drain OMIT
	if len(pods) == 0 && ok && deleteErr == nil {
		orig := ps.DeepCopy()
		controllerutil.RemoveFinalizer(ps, workshopv1alpha1.DrainFinalizer)
		if err := r.Client.Patch(ctx, ps, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			return r.retryOnConflict(ctx, fmt.Errorf("remove finalizer from PodSet %s: %w", key, err))
		}
		log.FromContext(ctx).Info("all pods are gone; released the PodSet")
		r.Recorder.Eventf(ps, nil, corev1.EventTypeNormal, "Drained", "Delete", "all pods are gone; releasing the PodSet")
		r.expectations.forget(key)
		managedPods.DeleteLabelValues(ps.Namespace, ps.Name)
		return ctrl.Result{}, nil
	}
	// END drain OMIT

	var blocked []string
	for i := range pods {
		if fs := pods[i].Finalizers; len(fs) > 0 {
			blocked = append(blocked, fmt.Sprintf("%s (finalizers: %s)", pods[i].Name, strings.Join(fs, ", ")))
		}
	}
	obs := observation{
		generation:  ps.Generation,
		requested:   ps.DesiredReplicas(),
		deleting:    true,
		active:      int32(len(groups.active)),
		terminating: int32(len(groups.terminating)),
		blockedBy:   blocked,
		deleteErr:   deleteErr,
	}
	managedPods.WithLabelValues(ps.Namespace, ps.Name).Set(0)
	if err := r.writeStatus(ctx, ps, obs, groups); err != nil {
		return ctrl.Result{}, err
	}
	if deleteErr != nil {
		return ctrl.Result{}, deleteErr
	}
	// Pod deletions trigger the next reconcile; the requeue only covers
	// expectations that expire without an event.
	return ctrl.Result{RequeueAfter: wait}, nil
}

// ownedPods lists the PodSet's Pods from the cache: those with its label that
// it controls (a Pod someone else labelled the same way is left alone).
func (r *PodSetReconciler) ownedPods(ctx context.Context, ps *workshopv1alpha1.PodSet) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := r.Client.List(ctx, &list, client.InNamespace(ps.Namespace),
		client.MatchingLabels{workshopv1alpha1.PodSetLabel: ps.Name}); err != nil {
		return nil, fmt.Errorf("list pods of PodSet %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	owned := list.Items[:0]
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == ps.UID {
			owned = append(owned, p)
		}
	}
	return owned, nil
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

func (r *PodSetReconciler) deletePods(ctx context.Context, ps *workshopv1alpha1.PodSet, pods []*corev1.Pod, reason string) error {
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
		log.FromContext(ctx).Info("deleted pod", "pod", pod.Name, "reason", reason)
		r.Recorder.Eventf(ps, pod, corev1.EventTypeNormal, reason, "DeletePod", "deleted pod %s", pod.Name)
	}
	return nil
}

// writeStatus computes the status from obs and patches it through the status
// subresource when it changed. A merge patch needs no resourceVersion, so
// status writes never conflict with spec changes.
func (r *PodSetReconciler) writeStatus(ctx context.Context, ps *workshopv1alpha1.PodSet, obs observation, groups podGroups) error {
	orig := ps.DeepCopy()
	st := &ps.Status
	st.Replicas = int32(len(groups.active))
	st.ReadyReplicas = groups.ready
	st.ObservedGeneration = ps.Generation
	if sel, err := metav1.LabelSelectorAsSelector(ps.Spec.Selector.LabelSelector()); err == nil {
		st.Selector = sel.String()
	}
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
