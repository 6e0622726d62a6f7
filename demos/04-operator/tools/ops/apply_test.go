package ops

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/config"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		manifest  string
		wantKinds []string
		wantErr   string
	}{
		{"empty", "", nil, ""},
		{"one object", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", []string{"Namespace"}, ""},
		{
			"several documents, empty and comment-only ones skipped",
			"---\n# just a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n",
			[]string{"Namespace", "ServiceAccount"}, "",
		},
		{"broken YAML", "apiVersion: v1\nkind: [unclosed\n", nil, "decode manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode([]byte(tt.manifest))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") {
				t.Errorf("kinds = %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
}

// TestSamplesMatchTheTypes converts every embedded sample into its Go type,
// so a renamed field cannot leave the samples behind silently.
func TestSamplesMatchTheTypes(t *testing.T) {
	samples, err := config.Samples()
	if err != nil {
		t.Fatal(err)
	}
	scheme := Scheme()
	podSets := 0
	for _, m := range samples {
		objs, err := Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			typed, err := scheme.New(u.GroupVersionKind())
			if err != nil {
				t.Fatalf("%s is not a known kind: %v", u.GroupVersionKind(), err)
			}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, typed, true); err != nil {
				t.Errorf("sample %s %s does not match its type: %v", u.GetKind(), u.GetName(), err)
			}
			if ps, ok := typed.(*workshopv1alpha1.PodSet); ok {
				podSets++
				for k, v := range ps.Spec.Selector.MatchLabels {
					if ps.Spec.Template.Labels[k] != v {
						t.Errorf("sample PodSet %s: selector label %s=%s missing from the template", ps.Name, k, v)
					}
				}
			}
		}
	}
	if podSets != 2 {
		t.Errorf("found %d sample PodSets, want 2", podSets)
	}
}
