package podlister

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

func pod(ns, name string, lbls map[string]string, node string, age time.Duration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, Labels: lbls,
			CreationTimestamp: metav1.NewTime(now.Add(-age)),
		},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true}},
		},
	}
}

func seed() []*corev1.Pod {
	return []*corev1.Pod{
		pod("alpha", "web-1", map[string]string{"app": "web"}, "node-1", 5*time.Minute),
		pod("alpha", "db-1", map[string]string{"app": "db"}, "node-2", 2*time.Hour),
		pod("beta", "web-2", map[string]string{"app": "web"}, "node-1", 3*24*time.Hour),
	}
}

// sources returns both client styles, seeded with the same pods.
func sources(t *testing.T, pods []*corev1.Pod) map[string]PodSource {
	t.Helper()
	crObjs := make([]client.Object, 0, len(pods))
	rtObjs := make([]runtime.Object, 0, len(pods))
	for _, p := range pods {
		crObjs = append(crObjs, p.DeepCopy())
		rtObjs = append(rtObjs, p.DeepCopy())
	}
	cr := crfake.NewClientBuilder().WithObjects(crObjs...).Build()
	cs := k8sfake.NewClientset(rtObjs...)
	return map[string]PodSource{
		ClientControllerRuntime: &ControllerRuntimeSource{Client: cr},
		ClientGo:                &ClientsetSource{Clientset: cs},
	}
}

// run lists (and with watchToo watches) through the chosen source, as Run does.
func run(ctx context.Context, src PodSource, q Query, output string, out io.Writer, watchToo bool) error {
	p, err := NewPrinter(output, out, clock, q.Namespace == "")
	if err != nil {
		return err
	}
	return ListAndWatch(ctx, src, q, p, nil, watchToo)
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o *Options)
		wantErr string
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, o *Options) {
			if o.Client != ClientControllerRuntime || o.PageSize != DefaultPageSize || o.Output != cli.OutputTable || o.Watch {
				t.Fatalf("unexpected defaults %+v", o)
			}
		}},
		{name: "kubectl style flags", args: []string{"-A", "-l", "app=web", "--field-selector", "spec.nodeName=n1", "--page-size", "7", "-o", "name", "--client", "clientgo", "--watch"},
			check: func(t *testing.T, o *Options) {
				if !o.Kube.AllNamespaces || o.LabelSelector.String() != "app=web" || o.FieldSelector.String() != "spec.nodeName=n1" ||
					o.PageSize != 7 || o.Output != cli.OutputName || o.Client != ClientGo || !o.Watch {
					t.Fatalf("unexpected options %+v", o)
				}
			}},
		{name: "namespace and all namespaces", args: []string{"-n", "x", "-A"}, wantErr: "cannot be used together"},
		{name: "bad output", args: []string{"-o", "xml"}, wantErr: "unknown output format"},
		{name: "bad client", args: []string{"--client", "kubectl"}, wantErr: "unknown --client"},
		{name: "zero page size", args: []string{"--page-size", "0"}, wantErr: "must be positive"},
		{name: "bad selector", args: []string{"-l", "app in (web"}, wantErr: "invalid --selector"},
		{name: "bad field selector", args: []string{"--field-selector", "nope"}, wantErr: "invalid --field-selector"},
		{name: "positional args", args: []string{"pods"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"--bogus"}, wantErr: "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := ParseArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if cli.ExitCode(err) != cli.ExitUsage {
					t.Fatalf("exit code = %d, want %d", cli.ExitCode(err), cli.ExitUsage)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArgs: %v", err)
			}
			tt.check(t, o)
		})
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), []string{"--help"}, &stdout, &stderr); err != nil {
		t.Fatalf("Run --help: %v", err)
	}
	if !strings.Contains(stderr.String(), "--page-size") {
		t.Fatalf("help text lacks flags:\n%s", stderr.String())
	}
}

func TestListFormats(t *testing.T) {
	tests := []struct {
		name   string
		query  Query
		output string
		want   string
	}{
		{
			name:   "table in one namespace",
			query:  Query{Namespace: "alpha"},
			output: cli.OutputTable,
			want: "NAME    READY   STATUS    NODE     AGE\n" +
				"db-1    1/1     Running   node-2   120m\n" +
				"web-1   1/1     Running   node-1   5m\n",
		},
		{
			name:   "table across namespaces",
			query:  Query{},
			output: cli.OutputTable,
			want: "NAMESPACE   NAME    READY   STATUS    NODE     AGE\n" +
				"alpha       db-1    1/1     Running   node-2   120m\n" +
				"alpha       web-1   1/1     Running   node-1   5m\n" +
				"beta        web-2   1/1     Running   node-1   3d\n",
		},
		{
			name:   "names with a label selector",
			query:  Query{Labels: labels.SelectorFromSet(labels.Set{"app": "web"})},
			output: cli.OutputName,
			want:   "alpha/web-1\nbeta/web-2\n",
		},
		{
			name:   "nothing found",
			query:  Query{Namespace: "gamma"},
			output: cli.OutputTable,
			want:   "No pods found.\n",
		},
	}
	for _, tt := range tests {
		for style, src := range sources(t, seed()) {
			t.Run(tt.name+"/"+style, func(t *testing.T) {
				var out bytes.Buffer
				tt.query.PageSize = DefaultPageSize
				if err := run(context.Background(), src, tt.query, tt.output, &out, false); err != nil {
					t.Fatalf("Run: %v", err)
				}
				if out.String() != tt.want {
					t.Fatalf("output:\n%s\nwant:\n%s", out.String(), tt.want)
				}
			})
		}
	}
}

func TestListStructuredOutput(t *testing.T) {
	for _, format := range []string{cli.OutputJSON, cli.OutputYAML} {
		for style, src := range sources(t, seed()) {
			t.Run(format+"/"+style, func(t *testing.T) {
				var out bytes.Buffer
				if err := run(context.Background(), src, Query{PageSize: 2}, format, &out, false); err != nil {
					t.Fatalf("Run: %v", err)
				}
				var list corev1.PodList
				var err error
				if format == cli.OutputJSON {
					err = json.Unmarshal(out.Bytes(), &list)
				} else {
					err = yaml.UnmarshalStrict(out.Bytes(), &list)
				}
				if err != nil {
					t.Fatalf("output is not a valid %s list: %v\n%s", format, err, out.String())
				}
				if list.Kind != "List" || len(list.Items) != 3 {
					t.Fatalf("kind %q with %d items, want List with 3", list.Kind, len(list.Items))
				}
				for _, p := range list.Items {
					if p.Kind != "Pod" || p.APIVersion != "v1" || p.Name == "" {
						t.Fatalf("item lacks identity: %+v", p.TypeMeta)
					}
				}
			})
		}
	}
}

// pager serves a fixed set of pods in pages, the way the API server does with
// limit/continue, and records the requests it saw.
type pager struct {
	mu       sync.Mutex
	pods     []corev1.Pod
	requests []metav1.ListOptions
}

func (p *pager) serve(limit int64, cont string) (*corev1.PodList, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, metav1.ListOptions{Limit: limit, Continue: cont})
	start := 0
	if cont != "" {
		var err error
		if start, err = strconv.Atoi(strings.TrimPrefix(cont, "token-")); err != nil {
			return nil, fmt.Errorf("bad continue token %q", cont)
		}
	}
	end := min(start+int(limit), len(p.pods))
	list := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "42"}}
	list.Items = slices.Clone(p.pods[start:end])
	if end < len(p.pods) {
		list.Continue = fmt.Sprintf("token-%d", end)
	}
	return list, nil
}

func manyPods(n int) []corev1.Pod {
	pods := make([]corev1.Pod, n)
	for i := range pods {
		pods[i] = *pod("ns", fmt.Sprintf("pod-%02d", i), nil, "node", time.Minute)
	}
	return pods
}

func TestPagination(t *testing.T) {
	const total, pageSize = 7, 3
	newSources := func(p *pager) map[string]PodSource {
		cs := k8sfake.NewClientset()
		cs.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			r := a.(k8stesting.ListActionImpl).GetListOptions()
			list, err := p.serve(r.Limit, r.Continue)
			return true, list, err
		})
		cr := crfake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				lo := (&client.ListOptions{}).ApplyOptions(opts)
				page, err := p.serve(lo.Limit, lo.Continue)
				if err != nil {
					return err
				}
				page.DeepCopyInto(list.(*corev1.PodList))
				return nil
			},
		}).Build()
		return map[string]PodSource{
			ClientControllerRuntime: &ControllerRuntimeSource{Client: cr},
			ClientGo:                &ClientsetSource{Clientset: cs},
		}
	}
	for _, style := range []string{ClientControllerRuntime, ClientGo} {
		t.Run(style, func(t *testing.T) {
			p := &pager{pods: manyPods(total)}
			var out bytes.Buffer
			if err := run(context.Background(), newSources(p)[style], Query{Namespace: "ns", PageSize: pageSize}, cli.OutputName, &out, false); err != nil {
				t.Fatalf("Run: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			seen := map[string]int{}
			for _, l := range lines {
				seen[l]++
			}
			for i := range total {
				if n := seen[fmt.Sprintf("ns/pod-%02d", i)]; n != 1 {
					t.Errorf("pod-%02d printed %d times, want exactly once", i, n)
				}
			}
			if len(lines) != total {
				t.Errorf("printed %d lines, want %d", len(lines), total)
			}
			wantReqs := []metav1.ListOptions{{Limit: 3}, {Limit: 3, Continue: "token-3"}, {Limit: 3, Continue: "token-6"}}
			if !slices.Equal(p.requests, wantReqs) {
				t.Errorf("requests = %+v, want %+v", p.requests, wantReqs)
			}
		})
	}
}

func TestSelectorsReachTheServer(t *testing.T) {
	var got metav1.ListOptions
	cs := k8sfake.NewClientset()
	cs.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		got = a.(k8stesting.ListActionImpl).GetListOptions()
		return true, &corev1.PodList{}, nil
	})
	q := Query{
		Namespace: "alpha",
		Labels:    labels.SelectorFromSet(labels.Set{"app": "web"}),
		Fields:    fields.OneTermEqualSelector("spec.nodeName", "node-1"),
		PageSize:  10,
	}
	if err := run(context.Background(), &ClientsetSource{Clientset: cs}, q, cli.OutputName, &bytes.Buffer{}, false); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got.LabelSelector != "app=web" || got.FieldSelector != "spec.nodeName=node-1" || got.Limit != 10 {
		t.Fatalf("list options = %+v", got)
	}
}

func TestListErrorNamesThePage(t *testing.T) {
	cs := k8sfake.NewClientset()
	calls := 0
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		if calls == 2 {
			return true, nil, errors.New("connection reset")
		}
		return true, &corev1.PodList{ListMeta: metav1.ListMeta{Continue: "more"}}, nil
	})
	err := run(context.Background(), &ClientsetSource{Clientset: cs}, Query{PageSize: 1}, cli.OutputName, &bytes.Buffer{}, false)
	if err == nil || !strings.Contains(err.Error(), "page 2") || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v, want it to name page 2 and the cause", err)
	}
}

// notifyingBuffer is a goroutine-safe writer that lets a test wait for some output.
type notifyingBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (b *notifyingBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (b *notifyingBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor blocks until the output contains want or the deadline passes.
func (b *notifyingBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(b.String(), want) {
		select {
		case <-b.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %q; output so far:\n%s", want, b.String())
		}
	}
}

func TestWatchStreamsChanges(t *testing.T) {
	cs := k8sfake.NewClientset(pod("alpha", "existing", nil, "n", time.Minute))
	// The fake's list carries no resourceVersion; a real server always sends one.
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: []corev1.Pod{*pod("alpha", "existing", nil, "n", time.Minute)}}, nil
	})
	watchStarted := make(chan string, 1)
	cs.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		// Register the watch with the tracker before saying it started, so the test's
		// changes cannot reach the tracker before the watch does.
		wa := a.(k8stesting.WatchActionImpl)
		w, err := cs.Tracker().Watch(wa.GetResource(), wa.GetNamespace())
		watchStarted <- wa.GetWatchRestrictions().ResourceVersion
		return true, w, err
	})

	out := &notifyingBuffer{changed: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &ClientsetSource{Clientset: cs}, Query{Namespace: "alpha", PageSize: 10}, cli.OutputName, out, true)
	}()

	select {
	case rv := <-watchStarted:
		if rv != "7" {
			t.Errorf("watch started at resourceVersion %q, want the list's 7", rv)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch never started")
	}
	out.waitFor(t, "alpha/existing\n")

	created := pod("alpha", "new", nil, "n", 0)
	created.ResourceVersion = "8"
	if _, err := cs.CoreV1().Pods("alpha").Create(ctx, created, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "ADDED alpha/new\n")
	if err := cs.CoreV1().Pods("alpha").Delete(ctx, "new", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "DELETED alpha/new\n")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after Ctrl-C = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
}

func TestReadyAndStatus(t *testing.T) {
	deleting := metav1.NewTime(now)
	tests := []struct {
		name       string
		mutate     func(p *corev1.Pod)
		wantReady  string
		wantStatus string
	}{
		{"running", func(*corev1.Pod) {}, "1/1", "Running"},
		{"terminating", func(p *corev1.Pod) { p.DeletionTimestamp = &deleting }, "1/1", "Terminating"},
		{"crash loop", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0] = corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}
		}, "0/1", "CrashLoopBackOff"},
		{"completed", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses[0] = corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}
		}, "0/1", "Completed"},
		{"killed", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0] = corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Signal: 9}}}
		}, "0/1", "Signal:9"},
		{"evicted", func(p *corev1.Pod) {
			p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted"
			p.Status.ContainerStatuses = nil
		}, "0/1", "Evicted"},
		{"init running", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.InitContainers = []corev1.Container{{Name: "a"}, {Name: "b"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{
				{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
				{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			}
		}, "1/1", "Init:1/2"},
		{"init failed", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "a"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}
		}, "1/1", "Init:ExitCode:3"},
		{"no status yet", func(p *corev1.Pod) { p.Status = corev1.PodStatus{} }, "0/1", "Pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod("ns", "p", nil, "", 0)
			tt.mutate(p)
			if got := Ready(p); got != tt.wantReady {
				t.Errorf("Ready = %q, want %q", got, tt.wantReady)
			}
			if got := Status(p); got != tt.wantStatus {
				t.Errorf("Status = %q, want %q", got, tt.wantStatus)
			}
		})
	}
}

func TestVerboseShowsContinueTokens(t *testing.T) {
	p := &pager{pods: manyPods(5)}
	cs := k8sfake.NewClientset()
	cs.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.ListActionImpl).GetListOptions()
		list, err := p.serve(r.Limit, r.Continue)
		return true, list, err
	})
	printer, err := NewPrinter(cli.OutputName, io.Discard, clock, false)
	if err != nil {
		t.Fatal(err)
	}
	var verbose bytes.Buffer
	if err := ListAndWatch(context.Background(), &ClientsetSource{Clientset: cs}, Query{Namespace: "ns", PageSize: 2}, printer, &verbose, false); err != nil {
		t.Fatal(err)
	}
	want := "page 1: 2 pods, continue \"token-2\"\npage 2: 2 pods, continue \"token-4\"\npage 3: 1 pods, continue \"\"\n"
	if verbose.String() != want {
		t.Fatalf("verbose output:\n%s\nwant:\n%s", verbose.String(), want)
	}
}

func TestWatchRowsStayAligned(t *testing.T) {
	var out bytes.Buffer
	p, err := NewPrinter(cli.OutputTable, &out, clock, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Page([]corev1.Pod{*pod("a-long-namespace", "web-1", nil, "node-1", time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := p.BeginWatch(); err != nil {
		t.Fatal(err)
	}
	deleting := pod("ns", "x", nil, "n", time.Second)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	for _, ev := range []struct {
		t   watch.EventType
		pod *corev1.Pod
	}{{watch.Added, pod("ns", "x", nil, "n", time.Second)}, {watch.Modified, deleting}, {watch.Deleted, deleting}} {
		if err := p.Event(ev.t, ev.pod); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	events := lines[2:] // the header and row of the listing come first
	if len(events) != 4 || !strings.HasPrefix(events[0], "EVENT") {
		t.Fatalf("output:\n%s", out.String())
	}
	// Every event row starts its NAME and its last (AGE) column where the header does,
	// whether the pod is Running or Terminating.
	name, age := strings.Index(events[0], "NAME "), strings.LastIndex(events[0], " ")+1
	for _, l := range events[1:] {
		if l[name-1] != ' ' || l[name] != 'x' || strings.LastIndex(l, " ")+1 != age {
			t.Errorf("misaligned row %q (NAME at %d, AGE at %d):\n%s", l, name, age, out.String())
		}
	}
}
