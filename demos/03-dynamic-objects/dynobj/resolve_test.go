package dynobj

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	r := NewResolver(newFakeDiscovery(widgetResources))
	tests := []struct {
		arg        string
		want       string // group/version/resource
		kind       string
		namespaced bool
	}{
		{"pods", "/v1, Resource=pods", "Pod", true},
		{"pod", "/v1, Resource=pods", "Pod", true},
		{"po", "/v1, Resource=pods", "Pod", true},
		{"Pod", "/v1, Resource=pods", "Pod", true},
		{"Node", "/v1, Resource=nodes", "Node", false},
		{"no", "/v1, Resource=nodes", "Node", false},
		{"deploy", "apps/v1, Resource=deployments", "Deployment", true},
		{"deployments.apps", "apps/v1, Resource=deployments", "Deployment", true},
		{"deployments.v1.apps", "apps/v1, Resource=deployments", "Deployment", true},
		{"Deployment", "apps/v1, Resource=deployments", "Deployment", true},
		{"crd", "apiextensions.k8s.io/v1, Resource=customresourcedefinitions", "CustomResourceDefinition", false},
		{"widgets.example.com", "example.com/v1, Resource=widgets", "Widget", true},
		{"wd", "example.com/v1, Resource=widgets", "Widget", true},
		{"Widget", "example.com/v1, Resource=widgets", "Widget", true},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			res, err := r.Resolve(tt.arg)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.arg, err)
			}
			if res.GVR.String() != tt.want || res.GVK.Kind != tt.kind || res.Namespaced != tt.namespaced {
				t.Fatalf("Resolve(%q) = %v %v namespaced=%v", tt.arg, res.GVR, res.GVK, res.Namespaced)
			}
		})
	}
}

func TestResolveUnknownSuggests(t *testing.T) {
	r := NewResolver(newFakeDiscovery())
	tests := []struct {
		arg  string
		want []string
	}{
		{"pdos", []string{"pods"}},
		{"podtemplate.apps", []string{"podtemplates"}},
		{"deploymnets", []string{"deployments.apps"}},
		{"widgets", nil},
		{"zzzzzz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			_, err := r.Resolve(tt.arg)
			var ue *UnknownResourceError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *UnknownResourceError", err)
			}
			if ue.Name != tt.arg || !strings.Contains(err.Error(), `"`+tt.arg+`"`) {
				t.Fatalf("error does not name %q: %v", tt.arg, err)
			}
			if len(tt.want) > 0 && (len(ue.Suggestions) == 0 || ue.Suggestions[0] != tt.want[0]) {
				t.Fatalf("suggestions = %v, want first %v", ue.Suggestions, tt.want)
			}
			if len(tt.want) > 0 && !reflect.DeepEqual(ue.Suggestions, tt.want) {
				t.Fatalf("suggestions = %v, want %v", ue.Suggestions, tt.want)
			}
			if tt.want == nil && len(ue.Suggestions) > 0 && tt.arg == "zzzzzz" {
				t.Fatalf("suggestions for nonsense = %v", ue.Suggestions)
			}
		})
	}
}

func TestResolverSeesNewResourcesAfterReset(t *testing.T) {
	fd := newFakeDiscovery()
	r := NewResolver(fd)
	if _, err := r.Resolve("pods"); err != nil {
		t.Fatal(err)
	}
	fd.Lock()
	fd.Resources = append(fd.Resources, widgetResources)
	fd.Unlock()
	r.Reset()
	if _, err := r.Resolve("widgets"); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestResources(t *testing.T) {
	r := NewResolver(newFakeDiscovery(widgetResources))
	rs, err := r.Resources()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range rs {
		names = append(names, x.Name+"."+groupOf(x.APIVersion))
	}
	want := []string{"configmaps.", "nodes.", "pods.", "podtemplates.", "customresourcedefinitions.apiextensions.k8s.io", "deployments.apps", "widgets.example.com"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("resources = %v\nwant %v", names, want)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{{"", "", 0}, {"pods", "pods", 0}, {"pdos", "pods", 1}, {"pod", "pods", 1}, {"kitten", "sitting", 3}, {"pdos", "ds", 2}}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
