package podlister

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"
)

// Lister lists pods from a PodSource and writes them in one of the output formats.
type Lister struct {
	Source PodSource
	Out    io.Writer
	// Now is the clock used for the AGE column.
	Now func() time.Time
}

// Run lists every pod matching q, page by page, printing each page before fetching the
// next. With watch set it then streams changes, starting from the list's
// resourceVersion so nothing between the list and the watch is missed, until ctx is
// cancelled (which is not an error).
func (l *Lister) Run(ctx context.Context, q Query, output string, watchToo bool) error {
	p, err := newPrinter(output, l.Out, l.Now, q.AllNamespaces)
	if err != nil {
		return err
	}
	rv, err := l.list(ctx, q, p)
	if err != nil {
		return err
	}
	if !watchToo {
		return nil
	}
	return l.watch(ctx, q, rv, p)
}

// list walks the pages with limit/continue and returns the list's resourceVersion.
func (l *Lister) list(ctx context.Context, q Query, p printer) (string, error) {
	if err := p.begin(); err != nil {
		return "", err
	}
	// START paging OMIT
	cont, rv := "", ""
	for page := 1; ; page++ {
		pods, err := l.Source.ListPage(ctx, q, cont)
		if err != nil {
			if apierrors.IsResourceExpired(err) {
				return "", fmt.Errorf("page %d: the continue token expired (the listing took longer than the server keeps snapshots); re-run, perhaps with a larger --page-size: %w", page, err)
			}
			return "", fmt.Errorf("page %d: %w", page, err)
		}
		if err := p.page(pods.Items); err != nil {
			return "", err
		}
		rv, cont = pods.ResourceVersion, pods.Continue
		if cont == "" {
			break
		}
	}
	// END paging OMIT
	return rv, p.end(rv)
}

// watchFunc adapts a PodSource to the cache.WatcherWithContext interface the
// RetryWatcher wants.
type watchFunc func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)

func (f watchFunc) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return f(ctx, opts)
}

func (l *Lister) watch(ctx context.Context, q Query, rv string, p printer) error {
	if rv == "" {
		return errors.New("cannot watch: the list returned no resourceVersion to resume from")
	}
	// The RetryWatcher re-establishes the watch after a dropped connection, resuming
	// from the last resourceVersion it delivered, so no change is lost or repeated.
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, rv, watchFunc(func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		return l.Source.WatchPods(ctx, q, opts)
	}))
	if err != nil {
		return fmt.Errorf("starting the watch at resourceVersion %s: %w", rv, err)
	}
	defer rw.Stop()
	if err := p.beginWatch(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-rw.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("the watch stopped unexpectedly")
			}
			// START events OMIT
			switch ev.Type {
			case watch.Added, watch.Modified, watch.Deleted:
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					return fmt.Errorf("watch delivered %T, want *v1.Pod", ev.Object)
				}
				if err := p.event(ev.Type, pod); err != nil {
					return err
				}
			case watch.Error:
				return fmt.Errorf("watch failed: %w", apierrors.FromObject(ev.Object))
			}
			// END events OMIT
		}
	}
}
