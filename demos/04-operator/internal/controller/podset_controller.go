package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// Name is the controller's name in logs, metrics and events.
const Name = "podset"

// PodSetReconciler keeps the Pods of every PodSet at spec.replicas and
// reports what it sees in the PodSet's status.
type PodSetReconciler struct {
	// Client reads from the manager's informer cache and writes to the API
	// server.
	Client client.Client
	// Recorder emits Kubernetes Events about PodSets.
	Recorder events.EventRecorder
	// RecordNamespace holds a record of every PodSet (record.go).
	RecordNamespace string

	now          func() time.Time // tests may replace it
	expectations *expectations    // creates and deletes the cache has not shown yet
}

// The RBAC the reconciler needs; `go tool mage generate` turns these markers
// into config/rbac/role.yaml. Reading through the cache needs list and watch.
// START rbac OMIT
// +kubebuilder:rbac:groups=workshop.example.com,resources=podsets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=workshop.example.com,resources=podsets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=workshop.example.com,resources=podsets/finalizers,verbs=update
// +kubebuilder:rbac:groups=workshop.example.com,resources=operatorconfigs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",namespace=podset-operator-system,resources=configmaps,verbs=create;delete
// END rbac OMIT

// SetupWithManager registers the reconciler with mgr: what it watches, and
// how an event becomes a request naming one PodSet.
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
		For(&workshopv1alpha1.PodSet{}).            // a PodSet changed: reconcile it
		Owns(&corev1.Pod{}).                        // a Pod it controls changed: reconcile the owner
		Watches(&workshopv1alpha1.OperatorConfig{}, // the singleton changed:
			handler.EnqueueRequestsFromMapFunc(r.allPodSets)). // reconcile every PodSet
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent}).
		Complete(r)
	// END setup OMIT
	if err != nil {
		return fmt.Errorf("set up the %s controller: %w", Name, err)
	}
	return nil
}

// Reconcile brings one PodSet closer to its spec and records what it saw in
// its status. Errors are returned, so the work queue retries with backoff.
func (r *PodSetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// START get OMIT
	var ps workshopv1alpha1.PodSet
	if err := r.Client.Get(ctx, req.NamespacedName, &ps); err != nil {
		if apierrors.IsNotFound(err) { // gone: nothing left to manage
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get PodSet %s: %w", req.NamespacedName, err)
	}
	// END get OMIT

	// START finalizer OMIT
	if !ps.DeletionTimestamp.IsZero() {
		// The garbage collector deletes the Pods: they carry our
		// ownerReference. The finalizer is for what it cannot reach.
		return r.finalize(ctx, &ps)
	}
	if !controllerutil.ContainsFinalizer(&ps, workshopv1alpha1.RecordFinalizer) {
		if err := r.register(ctx, &ps); err != nil { // the record, then the finalizer
			return r.retryOnConflict(ctx, err)
		}
	}
	// END finalizer OMIT

	pods, err := r.ownedPods(ctx, &ps)
	if err != nil {
		return ctrl.Result{}, err
	}
	cfg, err := r.operatorConfig(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	groups := groupPods(pods)
	desired, limited := effectiveReplicas(&ps, cfg)
	obs := observation{generation: ps.Generation, requested: ps.DesiredReplicas(), desired: desired, limited: limited,
		active: int32(len(groups.active)), ready: groups.ready, terminating: int32(len(groups.terminating))}

	// START expectations OMIT
	var result ctrl.Result
	if ok, wait := r.expectations.satisfied(req.NamespacedName, pods); !ok {
		// The cache has not shown our last creates or deletes yet: acting
		// now would repeat them. Their events trigger the next reconcile.
		result.RequeueAfter = wait
	} else {
		p := computePlan(desired, groups.active)
		obs.createErr = r.createPods(ctx, &ps, cfg, p.create)
		obs.deleteErr = r.deletePods(ctx, &ps, p.remove)
	}
	// END expectations OMIT

	managedPods.WithLabelValues(ps.Namespace, ps.Name).Set(float64(len(groups.active)))
	if err := r.writeStatus(ctx, &ps, obs, groups); err != nil {
		return ctrl.Result{}, err
	}
	return result, errors.Join(obs.createErr, obs.deleteErr)
}

// ownedPods lists the PodSet's Pods from the cache: those carrying its
// PodLabels (the selector status.selector reports) that it also controls.
// A Pod that merely carries the labels is neither counted nor touched.
func (r *PodSetReconciler) ownedPods(ctx context.Context, ps *workshopv1alpha1.PodSet) ([]corev1.Pod, error) {
	// START owned OMIT
	var list corev1.PodList
	if err := r.Client.List(ctx, &list, client.InNamespace(ps.Namespace), client.MatchingLabels(ps.PodLabels())); err != nil {
		return nil, fmt.Errorf("list pods of PodSet %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	owned := list.Items[:0]
	for _, p := range list.Items {
		if metav1.IsControlledBy(&p, ps) {
			owned = append(owned, p)
		}
	}
	// END owned OMIT
	return owned, nil
}
