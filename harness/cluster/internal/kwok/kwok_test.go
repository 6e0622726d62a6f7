package kwok

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

func TestConfigFillsBinariesAndAppendsStages(t *testing.T) {
	repoKwok, err := filepath.Abs("../../../../kwok")
	if err != nil {
		t.Fatal(err)
	}
	b := New("workshop", t.TempDir(), repoKwok, nil)

	for _, tc := range []struct {
		name     string
		settings Settings
	}{
		{"defaults", Settings{}},
		{"reserved ports", Settings{Ports: Ports{APIServer: 32123, Etcd: 20001, EtcdPeer: 20002, ControllerManager: 20003, Scheduler: 20004, KwokController: 20005}}},
		{"CLUSTER_LISTEN", Settings{Ports: Ports{APIServer: 32123}, Listen: "0.0.0.0", CertSANs: []string{"192.0.2.7"}}},
	} {
		out, err := b.Config(fakePath, tc.settings)
		if err != nil {
			t.Fatal(err)
		}
		docs := strings.Split(string(out), "\n---\n")
		var cfg struct {
			Kind              string           `json:"kind"`
			Options           map[string]any   `json:"options"`
			ComponentsPatches []map[string]any `json:"componentsPatches"`
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
		p := tc.settings.Ports
		for field, port := range map[string]int{"kubeApiserverPort": p.APIServer, "etcdPort": p.Etcd, "etcdPeerPort": p.EtcdPeer,
			"kubeControllerManagerPort": p.ControllerManager, "kubeSchedulerPort": p.Scheduler, "kwokControllerPort": p.KwokController} {
			if got, ok := cfg.Options[field]; (port == 0) == ok || (ok && got != float64(port)) {
				t.Errorf("%s: %s = %v (set %v), want %d", tc.name, field, got, ok, port)
			}
		}
		// Loopback for every component, whatever CLUSTER_LISTEN says: only
		// the API server's own bind address may be overridden.
		if cfg.Options["bindAddress"] != "127.0.0.1" {
			t.Errorf("%s: bindAddress = %v, want 127.0.0.1", tc.name, cfg.Options["bindAddress"])
		}
		var listen []string
		for _, patch := range cfg.ComponentsPatches {
			args, _ := patch["extraArgs"].([]any)
			for _, a := range args {
				arg := a.(map[string]any)
				if arg["key"] == "bind-address" || strings.Contains(fmt.Sprint(arg["key"]), "listen") {
					listen = append(listen, fmt.Sprintf("%v:%v=%v", patch["name"], arg["key"], arg["value"]))
				}
			}
		}
		wantListen := []string(nil)
		if tc.settings.Listen != "" {
			wantListen = []string{"kube-apiserver:bind-address=" + tc.settings.Listen}
		}
		if fmt.Sprint(listen) != fmt.Sprint(wantListen) {
			t.Errorf("%s: listen patches = %v, want %v", tc.name, listen, wantListen)
		}
		if sans := fmt.Sprint(cfg.Options["kubeApiserverCertSANs"]); (tc.settings.CertSANs != nil) != strings.Contains(sans, "192.0.2.7") {
			t.Errorf("%s: kubeApiserverCertSANs = %s", tc.name, sans)
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
	_, err := New("x", t.TempDir(), dir, nil).Config(fakePath, Settings{})
	if err == nil || !strings.Contains(err.Error(), "want kind KwokctlConfiguration") {
		t.Fatalf("got %v", err)
	}
}

func fakePath(name string) string { return "/cache/tools/key/" + name }

func TestRunsNodeOnlyKwoksNodes(t *testing.T) {
	b := New("x", t.TempDir(), t.TempDir(), nil)
	for _, tc := range []struct {
		annotations map[string]string
		want        bool
	}{
		{map[string]string{ManagedNodeAnnotation: "fake"}, true},
		{nil, false}, // demo 05's node agent registers a node of its own
		{map[string]string{ManagedNodeAnnotation: "other"}, false},
	} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Annotations: tc.annotations}}
		if got := b.RunsNode(n); got != tc.want {
			t.Errorf("RunsNode(%v) = %v, want %v", tc.annotations, got, tc.want)
		}
	}
}
