package podlister

// The lesson of demo 01, in the talk's order: build a client (two ways), list pods one
// page at a time, watch for changes. Flags and printers are plumbing beside it.

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PodSource is what the lister needs from a client library: one page of pods, and a
// watch. ControllerRuntimeSource and ClientsetSource are the two styles compared.
type PodSource interface {
	ListPage(ctx context.Context, q Query, cont string) (*corev1.PodList, error)
	Watch(ctx context.Context, q Query, opts metav1.ListOptions) (watch.Interface, error)
}

// NewSource builds the client named by style ("controller-runtime" or "clientgo") from
// a rest.Config, which clientcmd resolved from the kubeconfig (see ../internal/cli).
func NewSource(style string, cfg *rest.Config) (PodSource, error) {
	if style == ClientGo {
		// START clientset OMIT
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("creating the client-go clientset: %w", err)
		}
		// END clientset OMIT
		return &ClientsetSource{Clientset: cs}, nil
	}
	// START crclient OMIT
	c, err := client.NewWithWatch(cfg, client.Options{}) // client.New, plus Watch
	if err != nil {
		return nil, fmt.Errorf("creating the controller-runtime client: %w", err)
	}
	// END crclient OMIT
	return &ControllerRuntimeSource{Client: c}, nil
}

// ControllerRuntimeSource reads pods with the controller-runtime client: the Go type of
// the list says which resource, and options are composable values.
type ControllerRuntimeSource struct{ Client client.WithWatch }

// ListPage implements PodSource.
func (s *ControllerRuntimeSource) ListPage(ctx context.Context, q Query, cont string) (*corev1.PodList, error) {
	// START crlist OMIT
	opts := []client.ListOption{client.InNamespace(q.Namespace), client.Limit(q.PageSize), client.Continue(cont)}
	if q.Labels != nil {
		opts = append(opts, client.MatchingLabelsSelector{Selector: q.Labels})
	}
	if q.Fields != nil {
		opts = append(opts, client.MatchingFieldsSelector{Selector: q.Fields})
	}
	pods := &corev1.PodList{} // its Go type says which resource to read
	err := s.Client.List(ctx, pods, opts...)
	// END crlist OMIT
	return pods, err
}

// Watch implements PodSource.
func (s *ControllerRuntimeSource) Watch(ctx context.Context, q Query, opts metav1.ListOptions) (watch.Interface, error) {
	return s.Client.Watch(ctx, &corev1.PodList{}, &client.ListOptions{
		Namespace: q.Namespace, LabelSelector: q.Labels, FieldSelector: q.Fields, Raw: &opts})
}

// ClientsetSource reads pods with the generated client-go clientset: one method per
// resource and verb, options in one metav1.ListOptions struct of strings.
type ClientsetSource struct{ Clientset kubernetes.Interface }

// ListPage implements PodSource.
func (s *ClientsetSource) ListPage(ctx context.Context, q Query, cont string) (*corev1.PodList, error) {
	// START clientsetlist OMIT
	return s.Clientset.CoreV1().Pods(q.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: selector(q.Labels), FieldSelector: selector(q.Fields),
		Limit: q.PageSize, Continue: cont,
	})
	// END clientsetlist OMIT
}

// Watch implements PodSource.
func (s *ClientsetSource) Watch(ctx context.Context, q Query, opts metav1.ListOptions) (watch.Interface, error) {
	opts.LabelSelector, opts.FieldSelector = selector(q.Labels), selector(q.Fields)
	return s.Clientset.CoreV1().Pods(q.Namespace).Watch(ctx, opts)
}

// List prints every pod matching q, one page at a time, and returns the list's
// resourceVersion. With verbose set it reports each page and its continue token there.
func List(ctx context.Context, src PodSource, q Query, p Printer, verbose io.Writer) (string, error) {
	// START paging OMIT
	cont := ""
	for page := 1; ; page++ {
		pageCtx, cancel := context.WithTimeout(ctx, RequestTimeout)
		pods, err := src.ListPage(pageCtx, q, cont)
		cancel()
		if err != nil {
			return "", fmt.Errorf("listing pods, page %d: %w", page, err)
		}
		fmt.Fprintf(verbose, "page %d: %d pods, continue %q\n", page, len(pods.Items), pods.Continue)
		if err := p.Page(pods.Items); err != nil {
			return "", err
		}
		if pods.Continue == "" { // the last page
			return pods.ResourceVersion, p.End(pods.ResourceVersion)
		}
		cont = pods.Continue
	}
	// END paging OMIT
}

// Watch prints changes to the pods matching q from resourceVersion rv on, so nothing
// between the list and the watch is missed, until ctx is cancelled (not an error).
func Watch(ctx context.Context, src PodSource, q Query, rv string, p Printer) error {
	// START watch OMIT
	// A RetryWatcher reconnects after a dropped connection, resuming from the last
	// resourceVersion it delivered; after 410 Gone it stops, and only a new list helps.
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, rv, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return src.Watch(ctx, q, o)
		}})
	if err != nil {
		return fmt.Errorf("watching pods from resourceVersion %q: %w", rv, err)
	}
	defer rw.Stop()
	for ev := range rw.ResultChan() {
		switch ev.Type {
		case watch.Added, watch.Modified, watch.Deleted:
			if err := p.Event(ev.Type, ev.Object.(*corev1.Pod)); err != nil {
				return err
			}
		case watch.Error:
			return fmt.Errorf("watching pods: %w", apierrors.FromObject(ev.Object))
		}
	}
	// END watch OMIT
	if ctx.Err() != nil {
		return nil // Ctrl-C
	}
	return errors.New("the watch stopped unexpectedly")
}
