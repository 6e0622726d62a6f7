package podlister

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Query says which pods to list.
type Query struct {
	// Namespace to list in; "" lists every namespace.
	Namespace string
	// AllNamespaces adds the NAMESPACE column to table output.
	AllNamespaces bool
	// Labels and Fields filter on the server; nil means everything.
	Labels labels.Selector
	Fields fields.Selector
	// PageSize is the maximum number of pods per request.
	PageSize int64
}

// PodSource is what the lister needs from a client library: one page of pods at a time,
// and a watch starting at a resourceVersion. The two implementations below are the two
// client styles this demo compares.
type PodSource interface {
	// ListPage returns up to q.PageSize pods, continuing after the token cont ("" for the
	// first page). The returned list's Continue is "" on the last page.
	ListPage(ctx context.Context, q Query, cont string) (*corev1.PodList, error)
	// WatchPods starts a watch for pods matching q with the raw options a watch helper
	// supplies (resourceVersion, bookmarks).
	WatchPods(ctx context.Context, q Query, opts metav1.ListOptions) (watch.Interface, error)
}

// ControllerRuntimeSource lists pods with the controller-runtime client: the kind comes
// from the Go type of the list, options are composable client.ListOption values.
type ControllerRuntimeSource struct {
	Client      client.Client
	WatchClient client.WithWatch
}

// ListPage implements PodSource.
func (s *ControllerRuntimeSource) ListPage(ctx context.Context, q Query, cont string) (*corev1.PodList, error) {
	// START crlist OMIT
	opts := []client.ListOption{
		client.InNamespace(q.Namespace),
		client.Limit(q.PageSize),
		client.Continue(cont),
	}
	if q.Labels != nil && !q.Labels.Empty() {
		opts = append(opts, client.MatchingLabelsSelector{Selector: q.Labels})
	}
	if q.Fields != nil && !q.Fields.Empty() {
		opts = append(opts, client.MatchingFieldsSelector{Selector: q.Fields})
	}
	pods := &corev1.PodList{}
	if err := s.Client.List(ctx, pods, opts...); err != nil {
		return nil, fmt.Errorf("listing pods with the controller-runtime client: %w", err)
	}
	return pods, nil
	// END crlist OMIT
}

// WatchPods implements PodSource.
func (s *ControllerRuntimeSource) WatchPods(ctx context.Context, q Query, opts metav1.ListOptions) (watch.Interface, error) {
	lo := &client.ListOptions{Namespace: q.Namespace, Raw: &opts}
	if q.Labels != nil && !q.Labels.Empty() {
		lo.LabelSelector = q.Labels
	}
	if q.Fields != nil && !q.Fields.Empty() {
		lo.FieldSelector = q.Fields
	}
	w, err := s.WatchClient.Watch(ctx, &corev1.PodList{}, lo)
	if err != nil {
		return nil, fmt.Errorf("watching pods with the controller-runtime client: %w", err)
	}
	return w, nil
}

// ClientsetSource lists pods with the client-go typed clientset: one generated method per
// resource and verb, options passed as a metav1.ListOptions struct of strings.
type ClientsetSource struct {
	List  kubernetes.Interface
	Watch kubernetes.Interface
}

func (q Query) listOptions() metav1.ListOptions {
	lo := metav1.ListOptions{}
	if q.Labels != nil {
		lo.LabelSelector = q.Labels.String()
	}
	if q.Fields != nil {
		lo.FieldSelector = q.Fields.String()
	}
	return lo
}

// ListPage implements PodSource.
func (s *ClientsetSource) ListPage(ctx context.Context, q Query, cont string) (*corev1.PodList, error) {
	lo := q.listOptions()
	// START clientsetlist OMIT
	lo.Limit = q.PageSize
	lo.Continue = cont
	pods, err := s.List.CoreV1().Pods(q.Namespace).List(ctx, lo)
	if err != nil {
		return nil, fmt.Errorf("listing pods with the client-go clientset: %w", err)
	}
	return pods, nil
	// END clientsetlist OMIT
}

// WatchPods implements PodSource.
func (s *ClientsetSource) WatchPods(ctx context.Context, q Query, opts metav1.ListOptions) (watch.Interface, error) {
	lo := q.listOptions()
	opts.LabelSelector, opts.FieldSelector = lo.LabelSelector, lo.FieldSelector
	w, err := s.Watch.CoreV1().Pods(q.Namespace).Watch(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("watching pods with the client-go clientset: %w", err)
	}
	return w, nil
}
