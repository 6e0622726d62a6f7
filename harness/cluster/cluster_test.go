package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// repoRoot is the repository root, where tools/ and kwok/ live.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr error
		wantMsg string
	}{
		{"defaults", nil, nil, ""},
		{"kind", map[string]string{"CLUSTER_PROVIDER": "kind"}, nil, ""},
		{"existing", map[string]string{"CLUSTER_PROVIDER": "existing"}, nil, ""},
		{"unknown provider lists the valid ones", map[string]string{"CLUSTER_PROVIDER": "minikube"}, ErrUnknownProvider, "valid providers are kwok, kind, existing"},
		{"upper case name", map[string]string{"CLUSTER_NAME": "Workshop"}, ErrInvalidName, "lower-case"},
		{"underscore in name", map[string]string{"CLUSTER_NAME": "my_cluster"}, ErrInvalidName, `"my_cluster"`},
		{"name ending with dash", map[string]string{"CLUSTER_NAME": "demo-"}, ErrInvalidName, "CLUSTER_NAME"},
		{"name too long", map[string]string{"CLUSTER_NAME": strings.Repeat("a", 41)}, ErrInvalidName, "40 characters"},
		{"port not a number", map[string]string{"CLUSTER_API_PORT": "http"}, ErrInvalidOption, "CLUSTER_API_PORT"},
		{"port out of range", map[string]string{"CLUSTER_API_PORT": "70000"}, ErrInvalidOption, "0–65535"},
		{"negative nodes", map[string]string{"CLUSTER_NODES": "-1"}, ErrInvalidOption, "CLUSTER_NODES"},
		{"zero nodes", map[string]string{"CLUSTER_NODES": "0"}, ErrInvalidOption, "at least 1 node"},
		{"two kind nodes", map[string]string{"CLUSTER_PROVIDER": "kind", "CLUSTER_NODES": "2"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := Env(func(k string) string { return tt.env[k] })
			if err == nil {
				_, err = New(append(opts, WithRepoDir(repoRoot(t)), WithCacheDir(t.TempDir()))...)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %v; want %v mentioning %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}
}

func TestDefaultsAndPaths(t *testing.T) {
	cache := t.TempDir()
	p, err := New(WithRepoDir(repoRoot(t)), WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "workshop" || p.ProviderName() != "kwok" {
		t.Errorf("defaults: got %s/%s, want kwok/workshop", p.ProviderName(), p.Name())
	}
	if want := filepath.Join(cache, "kwok", "clusters", "workshop", "kubeconfig.yaml"); p.KubeconfigPath() != want {
		t.Errorf("kwok kubeconfig = %s, want %s", p.KubeconfigPath(), want)
	}
	k, err := New(WithProvider(Kind), WithName("demo"), WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "kind", "demo", "kubeconfig.yaml"); k.KubeconfigPath() != want {
		t.Errorf("kind kubeconfig = %s, want %s", k.KubeconfigPath(), want)
	}
	e, err := New(WithProvider(Existing), WithKubeconfig("/a:/b"), WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if e.KubeconfigPath() != "/a:/b" {
		t.Errorf("existing kubeconfig = %s, want KUBECONFIG as is", e.KubeconfigPath())
	}
}

func TestUpRefusesTakenPortBeforeCreating(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cache := t.TempDir()
	p, err := New(WithRepoDir(repoRoot(t)), WithCacheDir(cache), WithAPIServerPort(port))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Up(t.Context())
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(port)) || !strings.Contains(err.Error(), "CLUSTER_API_PORT") {
		t.Fatalf("want ErrPortInUse naming the port and the fix, got %v", err)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("Up left state behind after refusing: %v", entries)
	}
}

func TestRequireExistingNamesTheFix(t *testing.T) {
	p, err := New(WithRepoDir(repoRoot(t)), WithCacheDir(t.TempDir()), WithName("learner"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.RequireExisting(t.Context())
	if !errors.Is(err, ErrNoCluster) || !strings.Contains(err.Error(), "CLUSTER_NAME=learner go tool mage cluster:up") {
		t.Fatalf("want ErrNoCluster with the command that creates it, got %v", err)
	}
}

func TestExistingNeverCreates(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	p, err := New(WithProvider(Existing), WithKubeconfig(missing), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(context.Background()); err == nil || !strings.Contains(err.Error(), "KUBECONFIG") {
		t.Fatalf("want an error pointing at KUBECONFIG, got %v", err)
	}
	if err := p.Down(context.Background()); err != nil {
		t.Fatalf("Down of the existing provider must be a no-op, got %v", err)
	}
}

func writeKubeconfig(t *testing.T, path, name, server string) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

func TestUseAndForgetContext(t *testing.T) {
	cache := t.TempDir()
	home := t.TempDir()
	userCfg := filepath.Join(home, "config")
	writeKubeconfig(t, userCfg, "prod", "https://prod.example:6443")
	p, err := New(WithRepoDir(repoRoot(t)), WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	writeKubeconfig(t, p.KubeconfigPath(), "kwok-workshop", "https://127.0.0.1:32000")

	for _, kc := range []struct{ name, env string }{
		{"KUBECONFIG is the user's file", userCfg},
		// A KUBECONFIG pointing at the cluster's own standalone file must
		// not be edited: it vanishes with the cluster.
		{"KUBECONFIG points into the cache", p.KubeconfigPath()},
	} {
		t.Run(kc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", kc.env)
			t.Setenv("HOME", home)
			if kc.env != userCfg {
				// clientcmd's default then is $HOME/.kube/config.
				writeKubeconfig(t, filepath.Join(home, ".kube", "config"), "prod", "https://prod.example:6443")
				userCfg := filepath.Join(home, ".kube", "config")
				defer func() { os.RemoveAll(filepath.Dir(userCfg)) }()
				check(t, p, userCfg)
				return
			}
			check(t, p, userCfg)
		})
	}
}

func check(t *testing.T, p *Provider, userCfg string) {
	t.Helper()
	if err := p.useContext(); err != nil {
		t.Fatal(err)
	}
	got, err := clientcmd.LoadFromFile(userCfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentContext != "kwok-workshop" || got.Contexts["prod"] == nil || got.Clusters["kwok-workshop"] == nil {
		t.Fatalf("after useContext: current=%q contexts=%v", got.CurrentContext, keys(got.Contexts))
	}
	if err := forgetContexts(contextNames(p.KubeconfigPath()), p.o.cacheDir); err != nil {
		t.Fatal(err)
	}
	got, err = clientcmd.LoadFromFile(userCfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Contexts["kwok-workshop"] != nil || got.Clusters["kwok-workshop"] != nil || got.AuthInfos["kwok-workshop"] != nil || got.CurrentContext != "" {
		t.Fatalf("after forgetContexts: current=%q contexts=%v", got.CurrentContext, keys(got.Contexts))
	}
	if got.Contexts["prod"] == nil {
		t.Fatalf("forgetContexts removed an unrelated context")
	}
	standalone, err := clientcmd.LoadFromFile(p.KubeconfigPath())
	if err != nil || standalone.Contexts["prod"] != nil {
		t.Fatalf("the standalone kubeconfig was modified: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestE2EFrameworkWithNameErrorsAreReportedAndCleared(t *testing.T) {
	p, err := New(WithRepoDir(repoRoot(t)), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	p.WithName("Bad_Name")
	if _, err := p.Create(t.Context()); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Create after an invalid WithName: want ErrInvalidName, got %v", err)
	}
	if err := p.Down(t.Context()); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Down after an invalid WithName must refuse, not delete the previous cluster; got %v", err)
	}
	p.WithName("good-name")
	if p.err != nil || p.Name() != "good-name" {
		t.Fatalf("a valid WithName must clear the error: err=%v name=%s", p.err, p.Name())
	}
	p.WithVersion("v1.30.0")
	if _, err := p.Create(t.Context()); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "v1.37.0") {
		t.Fatalf("another Kubernetes version: want ErrUnsupported naming the pinned one, got %v", err)
	}
}

// TestLoadImageOnlyWhereContainersRun: kind loads images; kwok (no
// containers) and existing (nodes out of reach) refuse at once, before
// touching the archive, with ErrUnsupported and what to do instead.
func TestLoadImageOnlyWhereContainersRun(t *testing.T) {
	cache := t.TempDir()
	tests := []struct {
		name     string
		opts     []Option
		wantMsgs []string // empty: supported
	}{
		{"kwok", []Option{WithRepoDir(repoRoot(t)), WithName("k")}, []string{`kwok cluster "k"`, "runs no containers", "CLUSTER_PROVIDER=kind"}},
		{"existing", []Option{WithProvider(Existing), WithKubeconfig("/some/kubeconfig")}, []string{"/some/kubeconfig", "registry", "CLUSTER_PROVIDER=kind"}},
		{"kind", []Option{WithProvider(Kind)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(append(tt.opts, WithCacheDir(cache))...)
			if err != nil {
				t.Fatal(err)
			}
			err = p.LoadsImages()
			if len(tt.wantMsgs) == 0 {
				if err != nil {
					t.Fatalf("LoadsImages() = %v, want nil", err)
				}
				return
			}
			for _, e := range []error{err, p.LoadImage(t.Context(), "/does/not/exist.tar")} {
				if !errors.Is(e, ErrUnsupported) {
					t.Fatalf("got %v, want ErrUnsupported", e)
				}
				for _, m := range tt.wantMsgs {
					if !strings.Contains(e.Error(), m) {
						t.Errorf("%q does not mention %q", e, m)
					}
				}
			}
		})
	}
}

func TestIsKindNode(t *testing.T) {
	for _, tt := range []struct {
		providerID string
		want       bool
	}{
		{"kind://docker/mine/mine-control-plane", true},
		{"", false},
		{"aws:///eu-west-1a/i-0123", false},
		{"kind://docker/mine", false},
	} {
		n := &corev1.Node{Spec: corev1.NodeSpec{ProviderID: tt.providerID}}
		if got := IsKindNode(n); got != tt.want {
			t.Errorf("IsKindNode(%q) = %v, want %v", tt.providerID, got, tt.want)
		}
	}
}

// Another writer (kubectl, kind, a second cluster) holds <file>.lock while
// it writes; modifyDefault must try again until the lock is released, and
// name the lock when it never is.
func TestModifyDefaultWaitsForAnotherWritersLock(t *testing.T) {
	for _, tt := range []struct {
		name    string
		release bool
	}{
		{"the lock is released", true},
		{"the lock stays", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			userCfg := filepath.Join(t.TempDir(), "config")
			writeKubeconfig(t, userCfg, "prod", "https://prod.example:6443")
			t.Setenv("KUBECONFIG", userCfg)
			lock := userCfg + ".lock"
			if err := os.WriteFile(lock, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			defer func(d time.Duration) { lockWait = d }(lockWait)
			lockWait = 500 * time.Millisecond
			if tt.release {
				lockWait = time.Minute
			}
			tries := 0
			err := modifyDefault(defaultPathOptions(t.TempDir()), func(c *clientcmdapi.Config) bool {
				tries++
				if tries == 2 && tt.release {
					if err := os.Remove(lock); err != nil { // the other writer is done
						t.Fatal(err)
					}
				}
				c.CurrentContext = "mine"
				c.Contexts["mine"] = clientcmdapi.NewContext()
				return true
			})
			if !tt.release {
				if err == nil || !strings.Contains(err.Error(), "config.lock") || !strings.Contains(err.Error(), "remove the .lock file") {
					t.Fatalf("modifyDefault with a lock that stays = %v, want an error naming the lock", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := clientcmd.LoadFromFile(userCfg)
			if err != nil {
				t.Fatal(err)
			}
			if tries != 2 || got.CurrentContext != "mine" || got.Contexts["prod"] == nil {
				t.Fatalf("after %d tries: current %q, contexts %v; want 2 tries, mine current, prod kept", tries, got.CurrentContext, keys(got.Contexts))
			}
		})
	}
}
