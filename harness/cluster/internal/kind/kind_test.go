package kind

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name      string
		raw       []byte
		port      int
		wantErr   string
		wantNodes []v1alpha4.NodeRole
	}{
		{name: "default config: one node", wantNodes: []v1alpha4.NodeRole{v1alpha4.ControlPlaneRole}},
		{name: "port override", port: 6555, wantNodes: []v1alpha4.NodeRole{v1alpha4.ControlPlaneRole}},
		{name: "unknown field is rejected", raw: []byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodez: []\n"), wantErr: "nodez"},
		{name: "wrong kind", raw: []byte("kind: Pod\napiVersion: v1\n"), wantErr: "want kind Cluster"},
		{name: "no control plane", raw: []byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: worker\n"), wantErr: "control-plane"},
		{name: "empty nodes default to one control plane", raw: []byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"), wantNodes: []v1alpha4.NodeRole{v1alpha4.ControlPlaneRole}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(tt.raw, tt.port)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var roles []v1alpha4.NodeRole
			for _, n := range cfg.Nodes {
				roles = append(roles, n.Role)
			}
			if strings.Join(roleStrings(roles), ",") != strings.Join(roleStrings(tt.wantNodes), ",") {
				t.Errorf("node roles = %v, want %v", roles, tt.wantNodes)
			}
			if tt.port != 0 && cfg.Networking.APIServerPort != int32(tt.port) {
				t.Errorf("APIServerPort = %d, want %d", cfg.Networking.APIServerPort, tt.port)
			}
			if cfg.Networking.APIServerAddress != "127.0.0.1" {
				t.Errorf("kind defaults not applied: APIServerAddress = %q", cfg.Networking.APIServerAddress)
			}
		})
	}
}

func TestDefaultConfigKeepsKubeletOnCgroupV1(t *testing.T) {
	cfg, err := LoadConfig(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range cfg.KubeadmConfigPatches {
		found = found || (strings.Contains(p, "KubeletConfiguration") && strings.Contains(p, "failCgroupV1: false"))
	}
	if !found {
		t.Errorf("default kind config lacks the failCgroupV1: false kubelet patch: %q", cfg.KubeadmConfigPatches)
	}
}

func roleStrings(roles []v1alpha4.NodeRole) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

func TestDetectRuntime(t *testing.T) {
	installed := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, x := range names {
				if x == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	answers := func(ok ...string) Exec {
		return func(_ context.Context, name string, args ...string) ([]byte, error) {
			if len(args) != 1 || args[0] != "info" {
				t.Errorf("unexpected probe %s %v", name, args)
			}
			for _, x := range ok {
				if x == name {
					return []byte("Server Version: 28"), nil
				}
			}
			return []byte("Client:\n Version: 28.2.2\n\nServer:\nCannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"), errors.New("exit status 1")
		}
	}
	tests := []struct {
		name     string
		lookPath func(string) (string, error)
		run      Exec
		want     string
		wantMsgs []string
	}{
		{"docker running", installed("docker"), answers("docker"), "docker", nil},
		{"docker client without daemon, podman works", installed("docker", "podman"), answers("podman"), "podman", nil},
		{"docker client without daemon", installed("docker"), answers(), "", []string{"docker is installed but `docker info` failed", "Is the docker daemon running?", "CLUSTER_PROVIDER=kwok"}},
		{"nothing installed", installed(), answers(), "", []string{"none of docker, podman or nerdctl is installed", "CLUSTER_PROVIDER=kwok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := DetectRuntime(t.Context(), tt.lookPath, tt.run)
			if tt.want != "" {
				if err != nil || rt.Name != tt.want {
					t.Fatalf("got %q, %v; want %q", rt.Name, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrNoContainerRuntime) {
				t.Fatalf("want ErrNoContainerRuntime, got %v", err)
			}
			for _, m := range tt.wantMsgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestCreateFailsBeforeCreatingWithoutRuntime(t *testing.T) {
	calls := 0
	b := New("workshop", t.TempDir(), "", "").WithExec(
		func(n string) (string, error) {
			if n == "docker" {
				return "/usr/bin/docker", nil
			}
			return "", exec.ErrNotFound
		},
		func(context.Context, string, ...string) ([]byte, error) {
			calls++
			return []byte("Cannot connect to the Docker daemon"), errors.New("exit status 1")
		})
	err := b.Create(t.Context(), backendCreateOptions())
	if !errors.Is(err, ErrNoContainerRuntime) {
		t.Fatalf("want ErrNoContainerRuntime, got %v", err)
	}
	if calls != 1 {
		t.Errorf("want exactly the `docker info` probe, got %d calls", calls)
	}
}

func backendCreateOptions() backend.CreateOptions { return backend.CreateOptions{} }

func TestGenerateConfig(t *testing.T) {
	cp, w := v1alpha4.ControlPlaneRole, v1alpha4.WorkerRole
	tests := []struct {
		name          string
		nodes, port   int
		wantRoles     []v1alpha4.NodeRole
		wantUntainted bool // the control plane gets kubeadm's empty taint list
		wantErr       string
	}{
		{name: "unset means one node", nodes: 0, wantRoles: []v1alpha4.NodeRole{cp}},
		{name: "one node: kind itself untaints it", nodes: 1, wantRoles: []v1alpha4.NodeRole{cp}},
		{name: "two nodes add one worker", nodes: 2, wantRoles: []v1alpha4.NodeRole{cp, w}, wantUntainted: true},
		{name: "four nodes add three workers", nodes: 4, port: 6443, wantRoles: []v1alpha4.NodeRole{cp, w, w, w}, wantUntainted: true},
		{name: "negative", nodes: -1, wantErr: "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := GenerateConfig(tt.nodes, tt.port)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var roles []v1alpha4.NodeRole
			for _, n := range cfg.Nodes {
				roles = append(roles, n.Role)
			}
			if !slices.Equal(roles, tt.wantRoles) {
				t.Errorf("node roles = %v, want %v", roles, tt.wantRoles)
			}
			untainted := slices.ContainsFunc(cfg.Nodes[0].KubeadmConfigPatches, func(p string) bool {
				return strings.Contains(p, "kind: InitConfiguration") && strings.Contains(p, "taints: []")
			})
			if untainted != tt.wantUntainted {
				t.Errorf("control plane untainted by patch = %v, want %v (patches %q)", untainted, tt.wantUntainted, cfg.Nodes[0].KubeadmConfigPatches)
			}
			for _, n := range cfg.Nodes[1:] {
				if len(n.KubeadmConfigPatches) != 0 {
					t.Errorf("worker has patches %q", n.KubeadmConfigPatches)
				}
			}
			if !slices.ContainsFunc(cfg.KubeadmConfigPatches, func(p string) bool { return strings.Contains(p, "failCgroupV1: false") }) {
				t.Errorf("generated config lost the cluster-wide kubelet patch: %q", cfg.KubeadmConfigPatches)
			}
			if tt.port != 0 && cfg.Networking.APIServerPort != int32(tt.port) {
				t.Errorf("APIServerPort = %d, want %d", cfg.Networking.APIServerPort, tt.port)
			}
		})
	}
}

func TestConfigFileWinsOverNodes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kind.yaml")
	raw := "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n- role: worker\n"
	if err := os.WriteFile(file, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		nodes       int
		wantWarning bool
	}{
		{name: "nodes unset", nodes: 0},
		{name: "nodes agree", nodes: 3},
		{name: "nodes disagree", nodes: 2, wantWarning: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log strings.Builder
			cfg, err := New("x", t.TempDir(), file, "").config(backend.CreateOptions{Nodes: tt.nodes, Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Nodes) != 3 {
				t.Errorf("got %d nodes, want the config file's 3", len(cfg.Nodes))
			}
			warned := strings.Contains(log.String(), "CLUSTER_NODES=2 is ignored") && strings.Contains(log.String(), file)
			if warned != tt.wantWarning {
				t.Errorf("warning = %v, want %v; log %q", warned, tt.wantWarning, log.String())
			}
		})
	}
}

func TestHostIPIsTheKindNetworksIPv4Gateway(t *testing.T) {
	docker := func(n string) (string, error) {
		if n == "docker" {
			return "/usr/bin/docker", nil
		}
		return "", exec.ErrNotFound
	}
	tests := []struct {
		name    string
		inspect string
		err     error
		want    string
		wantErr string
	}{
		{"IPv6 listed first", "fc00:f853:ccd:e793::1 172.18.0.1 ", nil, "172.18.0.1", ""},
		{"IPv4 only", "172.19.0.1 ", nil, "172.19.0.1", ""},
		{"no IPv4 gateway", "fc00:f853:ccd:e793::1 ", nil, "", "no IPv4 gateway"},
		{"no kind network", "Error response from daemon: network kind not found", errors.New("exit status 1"), "", "network kind not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New("workshop", t.TempDir(), "", "").WithExec(docker, func(_ context.Context, name string, args ...string) ([]byte, error) {
				if args[0] == "info" {
					return []byte("Server Version: 28"), nil
				}
				if name != "docker" || strings.Join(args[:3], " ") != "network inspect kind" {
					t.Errorf("unexpected command %s %v", name, args)
				}
				return []byte(tt.inspect), tt.err
			})
			got, err := b.HostIP(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("HostIP() = %q, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("HostIP() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRunsNodeByProviderID(t *testing.T) {
	b := New("workshop", t.TempDir(), "", "")
	tests := []struct {
		name, node, providerID string
		want                   bool
	}{
		{"control plane", "workshop-control-plane", "kind://docker/workshop/workshop-control-plane", true},
		{"worker", "workshop-worker", "kind://docker/workshop/workshop-worker", true},
		{"podman node", "workshop-worker2", "kind://podman/workshop/workshop-worker2", true},
		{"demo 05's agent, named like a kind node", "workshop-wasm", "", false},
		{"another kind cluster's node", "other-control-plane", "kind://docker/other/other-control-plane", false},
		{"a cloud node", "workshop-x", "aws:///eu-west-1a/i-0123", false},
		{"kind's ID inside another", "workshop-y", "cloud://kind://docker/workshop/workshop-y", false},
		{"too few parts", "workshop-z", "kind://docker/workshop", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: tt.node}, Spec: corev1.NodeSpec{ProviderID: tt.providerID}}
			if got := b.RunsNode(n); got != tt.want {
				t.Errorf("RunsNode(%s, %q) = %v, want %v", tt.node, tt.providerID, got, tt.want)
			}
		})
	}
}
