//go:build e2e

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/kwok"
	"github.com/kubeworkshop/kubeworkshop/harness/exposure"
)

// listenersOf returns the listening sockets of a kwok cluster's processes.
func listenersOf(t *testing.T, name string) []exposure.Listener {
	t.Helper()
	var pids []int
	for _, p := range clusterProcesses(t, name) {
		pid, _ := strconv.Atoi(p)
		pids = append(pids, pid)
	}
	ls, err := exposure.Listeners(pids)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// upCluster creates a kwok cluster of its own for one test and deletes it
// when the test ends.
func upCluster(t *testing.T, ctx context.Context, name string, opts ...cluster.Option) *cluster.Provider {
	t.Helper()
	p, err := cluster.New(append([]cluster.Option{cluster.WithName(name), cluster.WithLog(logWriter{t}), cluster.WithSwitchContext(false)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background()) })
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up %s: %v", name, err)
	}
	return p
}

func TestClusterListensOnLoopbackOnlyAndKeepsItsFilesPrivate(t *testing.T) {
	requireKwok(t)
	p := upCluster(t, testContext(t), uniqueName("loopback"), cluster.WithNodes(1))
	ls := listenersOf(t, p.Name())
	// etcd (client and peer), kube-apiserver, controller-manager, scheduler
	// and the kwok controller each listen somewhere.
	commands := map[string]bool{}
	for _, l := range ls {
		commands[l.Command] = true
	}
	for _, want := range []string{"etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok-controller"} {
		if !commands[want] {
			t.Errorf("no listener of %s found among %v", want, ls)
		}
	}
	if exposed := exposure.Exposed(ls); len(exposed) > 0 {
		t.Errorf("listening beyond loopback: %v", exposed)
	}

	fi, err := os.Stat(p.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("kubeconfig %s has mode %o, want 600", p.KubeconfigPath(), mode)
	}
	root, err := binaries.CacheRoot()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache root %s: mode %v (%v), want 700", root, fi.Mode().Perm(), err)
	}
}

func TestClusterListenExposesOnlyTheAPIServer(t *testing.T) {
	requireKwok(t)
	p := upCluster(t, testContext(t), uniqueName("listen"), cluster.WithNodes(1), cluster.WithListen("0.0.0.0"))
	var exposed []string
	for _, l := range exposure.Exposed(listenersOf(t, p.Name())) {
		exposed = append(exposed, l.Command)
	}
	if strings.Join(exposed, ",") != "kube-apiserver" {
		t.Fatalf("with CLUSTER_LISTEN=0.0.0.0, want only kube-apiserver beyond loopback, got %v", exposed)
	}
	// etcd in particular: plain HTTP without client certificates.
	for _, l := range listenersOf(t, p.Name()) {
		if l.Command == "etcd" && !l.Loopback() {
			t.Errorf("etcd listens on %s", l.Addr)
		}
	}
}

func TestConcurrentClustersGetDisjointPortsAndTheirOwnComponents(t *testing.T) {
	requireKwok(t)
	ctx := testContext(t)
	base := uniqueName("para")
	providers := make([]*cluster.Provider, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range providers {
		// Cluster i gets i+1 nodes: a cluster that talked to another's etcd
		// or kwok controller would show the wrong count.
		p, err := cluster.New(cluster.WithName(fmt.Sprintf("%s-%d", base, i)), cluster.WithNodes(i+1),
			cluster.WithLog(logWriter{t}), cluster.WithSwitchContext(false))
		if err != nil {
			t.Fatal(err)
		}
		providers[i] = p
		t.Cleanup(func() { _ = p.Down(context.Background()) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Up(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("creating three clusters at once: %v", err)
	}
	owner := map[uint16]string{}
	for i, p := range providers {
		st, err := p.Status(ctx)
		if err != nil || !st.Healthy {
			t.Fatalf("cluster %s: %+v, %v", p.Name(), st, err)
		}
		if st.Nodes != i+1 || st.ReadyNodes != i+1 {
			t.Errorf("cluster %s: %d/%d nodes Ready, want %d/%d", p.Name(), st.ReadyNodes, st.Nodes, i+1, i+1)
		}
		cfg, err := p.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		cs := kubernetes.NewForConfigOrDie(cfg)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.Name(), Labels: map[string]string{"kubeworkshop.test/para": "1"}}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("cluster %s: %v", p.Name(), err)
		}
		for _, l := range listenersOf(t, p.Name()) {
			if other, ok := owner[l.Addr.Port()]; ok {
				t.Errorf("port %d is used by clusters %s and %s", l.Addr.Port(), other, p.Name())
			}
			owner[l.Addr.Port()] = p.Name()
		}
	}
	// Each cluster's etcd holds only its own namespace.
	for _, p := range providers {
		cfg, _ := p.RESTConfig()
		list, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "kubeworkshop.test/para"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != p.Name() {
			t.Errorf("cluster %s sees test namespaces %v, want only its own", p.Name(), list.Items)
		}
	}
}

func TestCreationFailsFastWhenAComponentExits(t *testing.T) {
	requireKwok(t)
	// An extra kwokctl config (as e2e-framework's CreateWithConfig passes)
	// that gives etcd a flag it does not know: it exits at once.
	extra := filepath.Join(t.TempDir(), "broken-etcd.yaml")
	if err := os.WriteFile(extra, []byte(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
- name: etcd
  extraArgs:
  - key: no-such-flag
    value: "1"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := cluster.New(cluster.WithName(uniqueName("failfast")), cluster.WithLog(logWriter{t}), cluster.WithSwitchContext(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background()) })
	start := time.Now()
	_, err = p.CreateWithConfig(testContext(t), extra)
	took := time.Since(start)
	if !errors.Is(err, kwok.ErrComponentExited) || !strings.Contains(err.Error(), "etcd") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("want an error naming etcd and quoting its log, got %v", err)
	}
	// The promise is "fails within seconds, not after the 2-minute wait":
	// a generous bound, far below that timeout.
	if took > time.Minute {
		t.Errorf("failing took %s; a dead component must fail creation at once", took)
	}
	assertNothingLeft(t, p)
}
