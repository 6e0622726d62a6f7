package dynobj

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

const crdAndInstances = `# a CRD and two of its instances, plus a built-in object
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: first}
spec: {size: small}
---
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: second, namespace: elsewhere}
spec: {size: large}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {colour: blue}
`

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantCount int
		wantErr   string
	}{
		{"crd and instances", crdAndInstances, 4, ""},
		{"json document", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 1, ""},
		{"bad yaml names its document", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: [oops\n", 0, "document 2 is malformed"},
		{"missing kind", "apiVersion: v1\nmetadata: {name: a}\n", 0, "document 1 is malformed"},
		{"missing name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}\n", 0, "metadata.name is missing"},
		{"missing apiVersion", "kind: ConfigMap\nmetadata: {name: a}\n", 0, "document 1 is malformed"},
		{"list", "apiVersion: v1\nkind: List\nmetadata: {name: l}\nitems: []\n", 0, "lists are not supported"},
		{"only comments", "# nothing\n---\n", 0, "no objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseManifest(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(docs) != tt.wantCount {
				t.Fatalf("got %d docs, err %v; want %d", len(docs), err, tt.wantCount)
			}
			for i, d := range docs {
				if d.Index != i+1 {
					t.Fatalf("document %d has index %d", i+1, d.Index)
				}
			}
		})
	}
}

type applyEnv struct {
	applier *Applier
	reactor *ssaReactor
	out     *bytes.Buffer
}

func newApplyEnv(t *testing.T, objs ...runtime.Object) *applyEnv {
	fd := newFakeDiscovery()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds(), objs...)
	r := &ssaReactor{t: t, client: dyn, discovery: fd, rv: 100}
	dyn.PrependReactor("patch", "*", r.react)
	out := &bytes.Buffer{}
	return &applyEnv{
		applier: &Applier{
			Resolver: NewResolver(fd), Client: dyn, Namespace: "default",
			FieldManager: DefaultFieldManager, WaitTimeout: 10 * time.Second, Progress: out,
		},
		reactor: r,
		out:     out,
	}
}

func mustParse(t *testing.T, s string) []Document {
	t.Helper()
	docs, err := ParseManifest(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestApplyCRDAndInstancesThenReapply(t *testing.T) {
	env := newApplyEnv(t)
	ctx := context.Background()
	docs := mustParse(t, crdAndInstances)

	results, err := env.applier.Apply(ctx, docs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantFirst := "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n" +
		"widget.example.com/first created\n" +
		"widget.example.com/second created\n" +
		"configmap/settings created\n"
	if env.out.String() != wantFirst {
		t.Fatalf("progress:\n%s\nwant:\n%s", env.out.String(), wantFirst)
	}
	if ns := results[1].Document.Object.GetNamespace(); ns != "" {
		t.Fatalf("the caller's document was modified (namespace %q)", ns)
	}
	if _, err := env.reactor.client.Tracker().Get(widgetGVR, "default", "first"); err != nil {
		t.Fatalf("first widget not in the default namespace: %v", err)
	}
	if _, err := env.reactor.client.Tracker().Get(widgetGVR, "elsewhere", "second"); err != nil {
		t.Fatalf("second widget not in its own namespace: %v", err)
	}

	env.out.Reset()
	if _, err := env.applier.Apply(ctx, docs); err != nil {
		t.Fatalf("re-apply: %v", err)
	}
	if strings.Count(env.out.String(), " unchanged\n") != 4 {
		t.Fatalf("re-apply should change nothing:\n%s", env.out.String())
	}
}

func TestApplyConflict(t *testing.T) {
	theirs := object("v1", "ConfigMap", "default", "shared", map[string]any{"data": map[string]any{"colour": "red"}})
	theirs.SetLabels(map[string]string{ownerLabel: "someone-else"})
	manifest := `apiVersion: v1
kind: ConfigMap
metadata: {name: before}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shared}
data: {colour: blue}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: after}
data: {c: d}
`
	t.Run("without --force-conflicts", func(t *testing.T) {
		env := newApplyEnv(t, theirs.DeepCopy())
		results, err := env.applier.Apply(context.Background(), mustParse(t, manifest))
		var ae *ApplyError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v, want *ApplyError", err)
		}
		msg := err.Error()
		for _, want := range []string{"document 2 (ConfigMap shared) failed", "--force-conflicts", "applied 1 document(s) before it", "not applied: document(s) 3"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q lacks %q", msg, want)
			}
		}
		if len(results) != 1 || len(ae.NotApplied) != 1 || ae.Failed.Index != 2 {
			t.Fatalf("results %d, not applied %d, failed %d", len(results), len(ae.NotApplied), ae.Failed.Index)
		}
		if _, err := env.reactor.client.Tracker().Get(cmGVR, "default", "after"); err == nil {
			t.Fatal("document 3 was applied after the failure")
		}
	})
	t.Run("with --force-conflicts", func(t *testing.T) {
		env := newApplyEnv(t, theirs.DeepCopy())
		env.applier.Force = true
		if _, err := env.applier.Apply(context.Background(), mustParse(t, manifest)); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if !strings.Contains(env.out.String(), "configmap/shared configured\n") {
			t.Fatalf("progress:\n%s", env.out.String())
		}
	})
}

func TestApplyUnknownKindFailsFast(t *testing.T) {
	env := newApplyEnv(t)
	var log bytes.Buffer
	env.applier.Log = &log
	manifest := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
	_, err := env.applier.Apply(context.Background(), mustParse(t, manifest))
	// A retry would end in "did not appear in discovery within", and say it waits.
	if err == nil || !strings.Contains(err.Error(), "does not serve kind Widget") || !strings.Contains(err.Error(), "CRD") {
		t.Fatalf("err = %v", err)
	}
	if log.Len() > 0 {
		t.Fatalf("an unknown kind not defined in the manifest must not be waited for; log:\n%s", log.String())
	}
	if env.reactor.calls != 0 {
		t.Fatalf("%d apply calls made, want 0", env.reactor.calls)
	}
}

func TestApplyWaitsForEstablished(t *testing.T) {
	env := newApplyEnv(t)
	env.reactor.deferEstablish = true
	dyn := env.reactor.client
	// Once the applier starts watching the CRD, the "API server" finishes setting it up
	// and tells the watch. The watch exists before the event is sent, so none is lost.
	dyn.PrependWatchReactor("customresourcedefinitions", func(k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewRaceFreeFake()
		go func() {
			obj, err := dyn.Tracker().Get(crdGVR, "", "widgets.example.com")
			if err != nil {
				t.Errorf("get CRD: %v", err)
				return
			}
			crd := obj.(*unstructured.Unstructured).DeepCopy()
			_ = unstructured.SetNestedSlice(crd.Object, []any{map[string]any{"type": "Established", "status": "True"}}, "status", "conditions")
			crd.SetResourceVersion("1000")
			env.reactor.discovery.Lock()
			env.reactor.discovery.Resources = append(env.reactor.discovery.Resources, widgetResources)
			env.reactor.discovery.Unlock()
			if err := dyn.Tracker().Update(crdGVR, crd, ""); err != nil {
				t.Errorf("update CRD: %v", err)
			}
			w.Modify(crd)
		}()
		return true, w, nil
	})
	var log syncBuffer
	env.applier.Log = &log
	if _, err := env.applier.Apply(context.Background(), mustParse(t, crdAndInstances)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !strings.Contains(log.String(), "waiting for CRD widgets.example.com to be Established\n") {
		t.Fatalf("the wait was silent; log:\n%s", log.String())
	}
	if !strings.Contains(env.out.String(), "widget.example.com/first created") {
		t.Fatalf("progress:\n%s", env.out.String())
	}
}

func TestApplyGivesUpOnACRDThatNeverBecomesEstablished(t *testing.T) {
	env := newApplyEnv(t)
	env.reactor.deferEstablish = true
	env.applier.WaitTimeout = 300 * time.Millisecond
	_, err := env.applier.Apply(context.Background(), mustParse(t, crdAndInstances))
	if err == nil || !strings.Contains(err.Error(), "was not Established within 300ms") || !strings.Contains(err.Error(), "not applied: document(s) 2, 3, 4") {
		t.Fatalf("err = %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine of a wait.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWaitingReportsProgress(t *testing.T) {
	var log syncBuffer
	done := waiting(&log, "the %s", "thing")
	done()
	if log.String() != "waiting for the thing\n" {
		t.Fatalf("log = %q", log.String())
	}
	done = waiting(nil, "nothing") // a nil writer is allowed
	done()

	defer func(d time.Duration) { waitReportEvery = d }(waitReportEvery)
	waitReportEvery = time.Millisecond
	log = syncBuffer{}
	done = waiting(&log, "a slow thing")
	deadline := time.After(10 * time.Second)
	for !strings.Contains(log.String(), "still waiting for a slow thing (") {
		select {
		case <-deadline:
			t.Fatalf("no progress report; log:\n%s", log.String())
		case <-time.After(time.Millisecond):
		}
	}
	done()
}
