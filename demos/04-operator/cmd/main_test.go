package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/internal/testenv"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"help", []string{"--help"}, 0, "-metrics-bind-address"},
		{"unknown flag", []string{"--no-such-flag"}, 2, "flag provided but not defined"},
		{"positional argument", []string{"extra"}, 2, `unexpected arguments ["extra"]`},
		{"zero workers", []string{"--max-concurrent-reconciles=0"}, 2, "must be at least 1"},
		{"no rate", []string{"--kube-api-qps=0"}, 2, "must be positive"},
		{"unreadable kubeconfig", []string{"--kubeconfig", filepath.Join(t.TempDir(), "missing")}, 1, "load kubeconfig"},
		{"unauthenticated metrics on every interface", []string{"--metrics-bind-address=:8080"}, 2, "add --metrics-secure or bind 127.0.0.1"},
		{"unauthenticated metrics on a LAN address", []string{"--metrics-bind-address=192.0.2.1:8080"}, 2, "add --metrics-secure"},
		{"secure metrics on every interface", []string{"--metrics-bind-address=:8443", "--metrics-secure", "--kubeconfig", filepath.Join(t.TempDir(), "missing")}, 1, "load kubeconfig"},
		{"plain metrics on loopback", []string{"--metrics-bind-address=localhost:8080", "--kubeconfig", filepath.Join(t.TempDir(), "missing")}, 1, "load kubeconfig"},
		{"no record namespace", []string{"--record-namespace="}, 2, "--record-namespace must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(t.Context(), tt.args, &stderr); code != tt.wantCode {
				t.Errorf("exit status = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.wantErr, stderr.String())
			}
		})
	}
}

// TestRunWithoutCRDs starts a bare kube-apiserver (envtest, no CRDs) and
// checks that the operator refuses to start and names the mage target that
// installs the CRDs.
func TestRunWithoutCRDs(t *testing.T) {
	assets, err := testenv.Assets(t.Context(), io.Discard)
	if err != nil {
		t.Fatalf("locate the pinned kube-apiserver and etcd: %v", err)
	}
	env := testenv.Loopback(&envtest.Environment{BinaryAssetsDirectory: assets})
	_, err = env.Start()
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}

	var stderr bytes.Buffer
	code := run(t.Context(), []string{"--kubeconfig", kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0"}, &stderr)
	if code != 1 {
		t.Errorf("exit status = %d, want 1", code)
	}
	for _, want := range []string{"does not serve PodSet", "CRDs are not installed", "go tool mage operator:install"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not mention %q:\n%s", want, stderr.String())
		}
	}
}
