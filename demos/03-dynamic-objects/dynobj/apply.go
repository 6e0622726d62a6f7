package dynobj

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/yaml"
)

// DefaultFieldManager is the server-side apply field manager unless --field-manager says otherwise.
const DefaultFieldManager = "dynamic-objects"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Document is one object of a manifest, numbered from 1 in file order (empty documents
// are not counted).
type Document struct {
	Index  int
	Object *unstructured.Unstructured
}

// Describe names the document for messages: "document 2 (Widget demo/first)".
func (d Document) Describe() string {
	name := d.Object.GetName()
	if ns := d.Object.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("document %d (%s %s)", d.Index, d.Object.GetKind(), name)
}

// ManifestError reports a malformed document; nothing was applied.
type ManifestError struct {
	Index int
	Err   error
}

// Error implements error.
func (e *ManifestError) Error() string {
	return fmt.Sprintf("document %d is malformed, so nothing was applied: %v", e.Index, e.Err)
}

// Unwrap returns the parse error.
func (e *ManifestError) Unwrap() error { return e.Err }

// ParseManifest reads a multi-document YAML (or JSON) stream. It checks every document
// before returning, so a malformed one is found before anything is sent to the server.
func ParseManifest(r io.Reader) ([]Document, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs []Document
	for {
		raw, err := yr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &ManifestError{Index: len(docs) + 1, Err: err}
		}
		if isEmptyDocument(raw) {
			continue
		}
		idx := len(docs) + 1
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, &ManifestError{Index: idx, Err: err}
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			return nil, &ManifestError{Index: idx, Err: err}
		}
		switch {
		case obj.GetAPIVersion() == "":
			return nil, &ManifestError{Index: idx, Err: errors.New("apiVersion is missing")}
		case obj.GetName() == "":
			return nil, &ManifestError{Index: idx, Err: errors.New("metadata.name is missing (generateName cannot be applied)")}
		case obj.IsList():
			return nil, &ManifestError{Index: idx, Err: errors.New("lists are not supported; write one document per object")}
		}
		docs = append(docs, Document{Index: idx, Object: obj})
	}
	if len(docs) == 0 {
		return nil, errors.New("the manifest contains no objects")
	}
	return docs, nil
}

func isEmptyDocument(raw []byte) bool {
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && line != "---" {
			return false
		}
	}
	return true
}

// Outcome says what applying one document did.
type Outcome string

// Outcomes of applying a document, judged by comparing resourceVersions.
const (
	Created    Outcome = "created"
	Configured Outcome = "configured"
	Unchanged  Outcome = "unchanged"
)

// Result is the outcome for one applied document.
type Result struct {
	Document Document
	Resource Resource
	Outcome  Outcome
}

// ApplyError reports a failed apply part way through a manifest: which documents were
// applied, which one failed and which were not attempted.
type ApplyError struct {
	Applied    []Result
	Failed     Document
	NotApplied []Document
	Err        error
}

// Error implements error.
func (e *ApplyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed: %v", e.Failed.Describe(), e.Err)
	fmt.Fprintf(&b, "; applied %d document(s) before it", len(e.Applied))
	if len(e.NotApplied) > 0 {
		idx := make([]string, len(e.NotApplied))
		for i, d := range e.NotApplied {
			idx[i] = fmt.Sprint(d.Index)
		}
		fmt.Fprintf(&b, "; not applied: document(s) %s", strings.Join(idx, ", "))
	}
	return b.String()
}

// Unwrap returns the API error.
func (e *ApplyError) Unwrap() error { return e.Err }

// Applier applies documents with server-side apply through the dynamic client.
type Applier struct {
	Resolver *Resolver
	Client   dynamic.Interface
	// WatchClient is used to wait for CRDs; it must not carry a request timeout. Nil
	// means Client.
	WatchClient dynamic.Interface
	// Namespace is used for namespaced objects that do not name one.
	Namespace    string
	FieldManager string
	Force        bool
	// WaitTimeout bounds waiting for a CRD to be Established and served.
	WaitTimeout time.Duration
	// Progress receives one line per applied document, as kubectl prints them.
	Progress io.Writer
	// Log, when set, hears about waits (for a CRD, for discovery) as they go on.
	Log io.Writer
}

// Apply applies docs in order and stops at the first failure, returning an *ApplyError.
func (a *Applier) Apply(ctx context.Context, docs []Document) ([]Result, error) {
	var results []Result
	// Kinds defined by CRDs earlier in this manifest: their mapping may take a moment to
	// appear in discovery, so a miss is retried for them (and only for them).
	defined := map[schema.GroupKind]bool{}
	for i, doc := range docs {
		res, outcome, err := a.applyOne(ctx, doc, defined)
		if err == nil {
			results = append(results, Result{Document: doc, Resource: res, Outcome: outcome})
			if a.Progress != nil {
				fmt.Fprintf(a.Progress, "%s/%s %s\n", res.QualifiedKind(), doc.Object.GetName(), outcome)
			}
			err = a.settle(ctx, res, doc, defined)
		}
		if err != nil {
			return results, &ApplyError{Applied: results, Failed: doc, NotApplied: docs[i+1:], Err: err}
		}
	}
	return results, nil
}

func (a *Applier) resolve(ctx context.Context, gvk schema.GroupVersionKind, defined map[schema.GroupKind]bool) (Resource, error) {
	res, err := a.Resolver.ResolveKind(gvk)
	if err == nil || !meta.IsNoMatchError(err) || !defined[gvk.GroupKind()] {
		if meta.IsNoMatchError(err) {
			return res, fmt.Errorf("the server does not serve kind %s in %s (is its CRD installed?): %w", gvk.Kind, gvk.GroupVersion(), err)
		}
		return res, err
	}
	// Established CRD, but discovery has not caught up yet: refresh and retry.
	ctx, cancel := context.WithTimeout(ctx, a.WaitTimeout)
	defer cancel()
	defer waiting(a.Log, "kind %s to appear in discovery", gvk.GroupKind())()
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		a.Resolver.Reset()
		res, err = a.Resolver.ResolveKind(gvk)
		return err == nil, nil
	})
	if errors.Is(ctx.Err(), context.Canceled) {
		return res, fmt.Errorf("interrupted while waiting for kind %s to appear in discovery: %w", gvk.GroupKind(), ctx.Err())
	}
	if err != nil {
		return res, fmt.Errorf("kind %s from this manifest's CRD did not appear in discovery within %s", gvk.GroupKind(), a.WaitTimeout)
	}
	return res, nil
}

// waitReportEvery is how often a wait says it is still waiting.
var waitReportEvery = 5 * time.Second

// waiting prints to w (when not nil) that something is awaited, then every waitReportEvery
// how long it has been, so no wait is silent. Call the returned function when done.
func waiting(w io.Writer, format string, args ...any) (done func()) {
	if w == nil {
		return func() {}
	}
	what := fmt.Sprintf(format, args...)
	fmt.Fprintf(w, "waiting for %s\n", what)
	start, stop, stopped := time.Now(), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(waitReportEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(w, "still waiting for %s (%s)\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(stop); <-stopped }
}

// waitForCRD waits until the named CRD is Established, then refreshes discovery. It
// reads the CRD once and, if it is not ready yet, watches it from that resourceVersion
// (a RetryWatcher re-establishes the watch if the connection drops). It returns the
// group and kind the CRD defines.
func (a *Applier) waitForCRD(ctx context.Context, name string) (schema.GroupKind, error) {
	ctx, cancel := context.WithTimeout(ctx, a.WaitTimeout)
	defer cancel()
	wc := a.WatchClient
	if wc == nil {
		wc = a.Client
	}
	crds := wc.Resource(crdGVR)
	var gk schema.GroupKind
	check := func(u *unstructured.Unstructured) (bool, error) {
		gk = definedKind(u)
		return crdEstablished(u)
	}
	timeoutErr := func() error {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("interrupted while waiting for CRD %s to be Established: %w", name, ctx.Err())
		}
		return fmt.Errorf("CRD %s was not Established within %s", name, a.WaitTimeout)
	}

	crd, err := crds.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return gk, fmt.Errorf("reading CRD %s: %w", name, err)
	}
	done, err := check(crd)
	if err != nil {
		return gk, err
	}
	if !done {
		defer waiting(a.Log, "CRD %s to be Established", name)()
		sel := "metadata.name=" + name
		rw, err := watchtools.NewRetryWatcherWithContext(ctx, crd.GetResourceVersion(), &cache.ListWatch{
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = sel
				return crds.Watch(ctx, o)
			},
		})
		if err != nil {
			return gk, fmt.Errorf("watching CRD %s: %w", name, err)
		}
		_, err = watchtools.UntilWithoutRetry(ctx, rw, func(ev watch.Event) (bool, error) {
			switch ev.Type {
			case watch.Error:
				return false, fmt.Errorf("watching CRD %s: %w", name, apierrors.FromObject(ev.Object))
			case watch.Deleted:
				return false, fmt.Errorf("CRD %s was deleted while waiting for it", name)
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || u.GetName() != name {
				return false, nil
			}
			return check(u)
		})
		if ctx.Err() != nil || errors.Is(err, watchtools.ErrWatchClosed) {
			return gk, timeoutErr()
		}
		if err != nil {
			return gk, err
		}
	}
	a.Resolver.Reset()
	return gk, nil
}

// crdEstablished reads the CRD's conditions: done when Established is True, failed when
// the API server refused its names.
func crdEstablished(u *unstructured.Unstructured) (bool, error) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		switch {
		case m["type"] == "Established" && m["status"] == "True":
			return true, nil
		case m["type"] == "NamesAccepted" && m["status"] == "False":
			return false, fmt.Errorf("CRD %s: names not accepted: %v", u.GetName(), m["message"])
		}
	}
	return false, nil
}

// ReadManifest reads the -f argument: a path, or "-" for standard input.
func ReadManifest(path string, stdin io.Reader) ([]Document, error) {
	if path == "-" {
		return ParseManifest(stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	return ParseManifest(bytes.NewReader(b))
}
