package config

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestGeneratedUpToDate regenerates CRDs, RBAC and deepcopy code into a
// temporary directory and fails when the checked-in files differ, which means
// a marker or type changed without `go tool mage generate`.
func TestGeneratedUpToDate(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, Dir, "config.go")); err != nil {
		t.Fatalf("repository root not found from the test's directory: %v", err)
	}
	tmp := t.TempDir()
	crdDir, rbacDir, objDir := filepath.Join(tmp, "crd"), filepath.Join(tmp, "rbac"), filepath.Join(tmp, "object")

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "controller-gen"}, ControllerGenArgs(crdDir, rbacDir, objDir)...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool controller-gen: %v\n%s", err, out)
	}

	pairs := map[string]string{
		filepath.Join(rbacDir, "role.yaml"):                                filepath.Join(root, Dir, "rbac", "role.yaml"),
		filepath.Join(objDir, "zz_generated.deepcopy.go"):                  filepath.Join(root, "demos/04-operator/api/v1alpha1/zz_generated.deepcopy.go"),
		filepath.Join(crdDir, "workshop.example.com_podsets.yaml"):         filepath.Join(root, Dir, "crd/bases/workshop.example.com_podsets.yaml"),
		filepath.Join(crdDir, "workshop.example.com_operatorconfigs.yaml"): filepath.Join(root, Dir, "crd/bases/workshop.example.com_operatorconfigs.yaml"),
	}
	generated, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) != 2 {
		t.Errorf("controller-gen wrote %d CRDs, want 2: %v", len(generated), generated)
	}
	for fresh, checkedIn := range pairs {
		t.Run(filepath.Base(checkedIn), func(t *testing.T) {
			want, err := os.ReadFile(fresh)
			if err != nil {
				t.Fatalf("controller-gen did not write %s: %v", filepath.Base(fresh), err)
			}
			got, err := os.ReadFile(checkedIn)
			if err != nil {
				t.Fatalf("checked-in file missing: %v (run `go tool mage generate`)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale: run `go tool mage generate` and commit the result", checkedIn)
			}
		})
	}
}

// maxCRDJSON bounds a CRD's size as JSON. Client-side `kubectl apply` stores
// the whole object in the annotation kubectl.kubernetes.io/last-applied-
// configuration, and annotations may hold at most 256 KiB; half of that
// leaves room to grow.
const maxCRDJSON = 128 << 10

// TestCRDsFitClientSideApply fails when a CRD would come close to the
// annotation limit of client-side apply. (Without maxDescLen=0 the PodSet CRD,
// which embeds the Pod template's schema and its documentation, was 632 KB.)
func TestCRDsFitClientSideApply(t *testing.T) {
	crds, err := CRDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 2 {
		t.Fatalf("got %d CRDs, want 2", len(crds))
	}
	for _, raw := range crds {
		var obj map[string]any
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		name, _, _ := unstructured.NestedString(obj, "metadata", "name")
		t.Logf("%s: %d bytes of JSON", name, len(b))
		if len(b) > maxCRDJSON {
			t.Errorf("CRD %s is %d bytes as JSON, more than %d: `kubectl apply -f` (client-side) stores it in an annotation limited to 256 KiB", name, len(b), maxCRDJSON)
		}
	}
}
