package dynobj

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

func seedObjects() []*unstructured.Unstructured {
	return []*unstructured.Unstructured{
		object("v1", "Pod", "default", "web", nil),
		object("v1", "Pod", "other", "db", nil),
		object("v1", "Node", "", "node-1", nil),
		object("apps/v1", "Deployment", "default", "web", map[string]any{"spec": map[string]any{"replicas": int64(2)}}),
		object("example.com/v1", "Widget", "default", "gizmo", map[string]any{"spec": map[string]any{"size": "large"}}),
	}
}

// readers returns both client styles over the same objects.
func readers(t *testing.T, r *Resolver) map[string]Reader {
	t.Helper()
	objs := seedObjects()
	rt := make([]runtime.Object, len(objs))
	co := make([]client.Object, len(objs))
	for i, o := range objs {
		rt[i], co[i] = o.DeepCopy(), o.DeepCopy()
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds(), rt...)
	cr := crfake.NewClientBuilder().WithRESTMapper(r.Mapper()).WithObjects(co...).Build()
	return map[string]Reader{
		ClientDynamic:           &DynamicReader{Client: dyn},
		ClientControllerRuntime: &ControllerRuntimeReader{Client: cr},
	}
}

func TestGet(t *testing.T) {
	tests := []struct {
		name string
		opts GetOptions
		want string
	}{
		{"pods in a namespace", GetOptions{Resource: "po", Namespace: "default", Output: cli.OutputTable},
			"NAME   KIND   AGE\nweb    Pod    60m\n"},
		{"pods everywhere", GetOptions{Resource: "pods", AllNamespaces: true, Output: cli.OutputName},
			"pod/web\npod/db\n"},
		{"cluster-scoped ignores the namespace", GetOptions{Resource: "Node", Namespace: "default", Output: cli.OutputName},
			"node/node-1\n"},
		{"grouped resource", GetOptions{Resource: "deployments.apps", Namespace: "default", Output: cli.OutputName},
			"deployment.apps/web\n"},
		{"custom resource by short name", GetOptions{Resource: "wd", AllNamespaces: true, Output: cli.OutputTable},
			"NAMESPACE   NAME    KIND     AGE\ndefault     gizmo   Widget   60m\n"},
		{"one object by name", GetOptions{Resource: "widget", Name: "gizmo", Namespace: "default", Output: cli.OutputName},
			"widget.example.com/gizmo\n"},
		{"nothing found", GetOptions{Resource: "deploy", Namespace: "empty", Output: cli.OutputTable},
			"No deployments found in namespace empty.\n"},
	}
	r := NewResolver(newFakeDiscovery(widgetResources))
	for style, reader := range readers(t, r) {
		for _, tt := range tests {
			t.Run(style+"/"+tt.name, func(t *testing.T) {
				var out bytes.Buffer
				g := &Getter{Resolver: r, Reader: reader, Out: &out, Now: func() time.Time { return now }}
				if err := g.Run(context.Background(), tt.opts); err != nil {
					t.Fatalf("Run: %v", err)
				}
				got := out.String()
				if tt.opts.AllNamespaces && tt.opts.Output == cli.OutputName {
					got = sortLines(got)
					tt.want = sortLines(tt.want)
				}
				if got != tt.want {
					t.Fatalf("output:\n%s\nwant:\n%s", got, tt.want)
				}
			})
		}
	}
}

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestGetStructured(t *testing.T) {
	r := NewResolver(newFakeDiscovery(widgetResources))
	for style, reader := range readers(t, r) {
		t.Run(style, func(t *testing.T) {
			var out bytes.Buffer
			g := &Getter{Resolver: r, Reader: reader, Out: &out, Now: func() time.Time { return now }}
			if err := g.Run(context.Background(), GetOptions{Resource: "widgets", Name: "gizmo", Namespace: "default", Output: cli.OutputJSON}); err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			if err := json.Unmarshal(out.Bytes(), &obj); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out.String())
			}
			if obj["kind"] != "Widget" || obj["spec"].(map[string]any)["size"] != "large" {
				t.Fatalf("object = %v", obj)
			}

			out.Reset()
			if err := g.Run(context.Background(), GetOptions{Resource: "pods", AllNamespaces: true, Output: cli.OutputYAML}); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.String(), "apiVersion: v1\nitems:\n") || strings.Count(out.String(), "kind: Pod") != 2 {
				t.Fatalf("yaml list:\n%s", out.String())
			}
		})
	}
}

func TestGetErrors(t *testing.T) {
	r := NewResolver(newFakeDiscovery(widgetResources))
	for style, reader := range readers(t, r) {
		t.Run(style+"/unknown resource", func(t *testing.T) {
			g := &Getter{Resolver: r, Reader: reader, Out: &bytes.Buffer{}, Now: func() time.Time { return now }}
			err := g.Run(context.Background(), GetOptions{Resource: "gizmos", Output: cli.OutputTable})
			if err == nil || !strings.Contains(err.Error(), `resource type "gizmos"`) || cli.ExitCode(err) != cli.ExitRuntime {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run(style+"/missing object", func(t *testing.T) {
			g := &Getter{Resolver: r, Reader: reader, Out: &bytes.Buffer{}, Now: func() time.Time { return now }}
			err := g.Run(context.Background(), GetOptions{Resource: "pods", Name: "ghost", Namespace: "default", Output: cli.OutputTable})
			if err == nil || !strings.Contains(err.Error(), `getting pod "ghost"`) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestPrintResources(t *testing.T) {
	rs := []APIResource{
		{Name: "pods", ShortNames: []string{"po"}, APIVersion: "v1", Namespaced: true, Kind: "Pod"},
		{Name: "deployments", ShortNames: []string{"deploy"}, APIVersion: "apps/v1", Namespaced: true, Kind: "Deployment"},
	}
	var out bytes.Buffer
	if err := PrintResources(&out, rs, cli.OutputTable); err != nil {
		t.Fatal(err)
	}
	want := "NAME          SHORTNAMES   APIVERSION   NAMESPACED   KIND\n" +
		"pods          po           v1           true         Pod\n" +
		"deployments   deploy       apps/v1      true         Deployment\n"
	if out.String() != want {
		t.Fatalf("table:\n%q\nwant\n%q", out.String(), want)
	}
	out.Reset()
	if err := PrintResources(&out, rs, cli.OutputName); err != nil {
		t.Fatal(err)
	}
	if out.String() != "pods\ndeployments.apps\n" {
		t.Fatalf("names: %q", out.String())
	}
}

func TestRunUsageErrors(t *testing.T) {
	kc := "--kubeconfig=/nonexistent/kubeconfig"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"explode"}, "unknown command"},
		{"get without resource", []string{"get", kc}, "RESOURCE [NAME]"},
		{"shared flags before the command", []string{kc, "-n", "get", "get"}, "RESOURCE [NAME]"},
		{"get with too many args", []string{"get", kc, "pods", "a", "b"}, "RESOURCE [NAME]"},
		{"get bad output", []string{"get", kc, "pods", "-o", "xml"}, "unknown output format"},
		{"get bad client", []string{"get", kc, "pods", "--client", "kubectl"}, "unknown --client"},
		{"get name with -A", []string{"get", kc, "pods", "x", "-A"}, "cannot be combined"},
		{"apply without -f", []string{"apply", kc}, "needs -f"},
		{"resources with args", []string{"resources", kc, "pods"}, "no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := RunWithStdin(context.Background(), tt.args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
			if cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (exit %d), want usage error with %q", err, cli.ExitCode(err), tt.want)
			}
		})
	}
}

func TestRunMalformedManifestNeedsNoCluster(t *testing.T) {
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: [unclosed\n"
	err := RunWithStdin(context.Background(), []string{"apply", "--kubeconfig=/nonexistent", "-f", "-"}, strings.NewReader(manifest), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "document 2 is malformed, so nothing was applied") || cli.ExitCode(err) != cli.ExitRuntime {
		t.Fatalf("err = %v", err)
	}
}
