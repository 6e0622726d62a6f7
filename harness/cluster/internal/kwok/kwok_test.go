package kwok

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

func TestConfigFillsBinariesAndAppendsStages(t *testing.T) {
	repoKwok, err := filepath.Abs("../../../../kwok")
	if err != nil {
		t.Fatal(err)
	}
	b := New("workshop", t.TempDir(), repoKwok, nil)

	for _, port := range []int{0, 32123} {
		out, err := b.Config(fakePath, port)
		if err != nil {
			t.Fatal(err)
		}
		docs := strings.Split(string(out), "\n---\n")
		var cfg struct {
			Kind    string         `json:"kind"`
			Options map[string]any `json:"options"`
		}
		if err := yaml.Unmarshal([]byte(docs[0]), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Kind != "KwokctlConfiguration" || cfg.Options["runtime"] != "binary" || cfg.Options["kubeVersion"] != binaries.KubernetesVersion {
			t.Errorf("base options lost: %+v", cfg)
		}
		for field, name := range map[string]string{"kubeApiserverBinary": binaries.KubeAPIServer, "etcdBinary": binaries.Etcd, "kwokControllerBinary": binaries.Kwok} {
			if cfg.Options[field] != fakePath(name) {
				t.Errorf("%s = %v, want %s", field, cfg.Options[field], fakePath(name))
			}
		}
		if got, ok := cfg.Options["kubeApiserverPort"]; (port == 0) == ok || (ok && got != float64(port)) {
			t.Errorf("port %d: kubeApiserverPort = %v (set %v)", port, got, ok)
		}
		stages, _ := filepath.Glob(filepath.Join(repoKwok, StagesDir, "*.yaml"))
		if len(stages) == 0 || len(docs) != 1+len(stages) {
			t.Fatalf("want the config plus %d stages, got %d documents", len(stages), len(docs))
		}
		names := map[string]bool{}
		for _, d := range docs[1:] {
			var st struct {
				Kind     string                `json:"kind"`
				Metadata struct{ Name string } `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(d), &st); err != nil || st.Kind != "Stage" {
				t.Fatalf("stage document is not a Stage (%v): %s", err, d)
			}
			names[st.Metadata.Name] = true
		}
		// Any Stage replaces all of kwok's defaults, so the whole lifecycle
		// must be covered.
		for _, want := range []string{"node-initialize", "node-heartbeat", "pod-ready", "pod-complete", "pod-delete"} {
			if !names[want] {
				t.Errorf("stage %s missing", want)
			}
		}
	}
}

func TestConfigRejectsWrongKind(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte("kind: KwokConfiguration\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New("x", t.TempDir(), dir, nil).Config(fakePath, 0)
	if err == nil || !strings.Contains(err.Error(), "want kind KwokctlConfiguration") {
		t.Fatalf("got %v", err)
	}
}

func fakePath(name string) string { return "/cache/tools/key/" + name }
