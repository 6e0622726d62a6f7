//go:build e2e

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
)

// interrupted is cancelled by Ctrl-C (SIGINT) or SIGTERM. These tests start
// kwok clusters of their own, whose processes outlive the test binary:
// instead of dying on the signal, the binary cancels the tests' contexts so
// that their cleanups delete those clusters.
var interrupted context.Context

func TestMain(m *testing.M) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	interrupted = ctx
	code := m.Run()
	stop()
	os.Exit(code)
}

// testContext ends with the test or on an interrupt, whichever comes first.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	stop := context.AfterFunc(interrupted, cancel)
	t.Cleanup(func() { stop(); cancel() })
	return ctx
}

// These tests create kwok clusters of their own, next to the shared one.
func requireKwok(t *testing.T) {
	t.Helper()
	if p := os.Getenv("CLUSTER_PROVIDER"); p != "" && p != cluster.Kwok {
		t.Skipf("creates kwok clusters; CLUSTER_PROVIDER=%s", p)
	}
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000)
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// eventually polls cond until it holds or timeout elapses.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterProcesses lists the PIDs whose command line mentions the kwok
// cluster's directory: its apiserver, etcd, controllers and kwok.
func clusterProcesses(t *testing.T, name string) []string {
	t.Helper()
	root, err := binaries.CacheRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "kwok", "clusters", name) + "/"
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func assertNothingLeft(t *testing.T, p *cluster.Provider) {
	t.Helper()
	eventually(t, 10*time.Second, "no process of cluster "+p.Name()+" runs", func() bool {
		return len(clusterProcesses(t, p.Name())) == 0
	})
	st, err := p.Status(context.Background())
	if err != nil || st.Exists {
		t.Fatalf("cluster %s still exists after the interrupt (err %v)", p.Name(), err)
	}
}

func TestE2EFrameworkEnvFuncsDriveTheProvider(t *testing.T) {
	requireKwok(t)
	name := uniqueName("envfuncs")
	p, err := cluster.New(cluster.WithLog(logWriter{t}), cluster.WithNodes(2))
	if err != nil {
		t.Fatal(err)
	}
	cfg := envconf.New()
	ctx, err := envfuncs.CreateCluster(p, name)(testContext(t), cfg)
	if err != nil {
		t.Fatalf("envfuncs.CreateCluster: %v", err)
	}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			// Not ctx itself: it is cancelled on Ctrl-C, and this is the cleanup.
			_, _ = envfuncs.DestroyCluster(name)(context.WithoutCancel(ctx), cfg)
		}
	})
	if p.Name() != name {
		t.Fatalf("WithName did not rename the cluster: %s", p.Name())
	}

	var nodes corev1.NodeList
	if err := cfg.Client().Resources().List(ctx, &nodes); err != nil {
		t.Fatalf("list nodes through the envconf client: %v", err)
	}
	if len(nodes.Items) != 2 {
		t.Fatalf("want the 2 nodes asked for, got %d", len(nodes.Items))
	}

	if _, err := envfuncs.DestroyCluster(name)(ctx, cfg); err != nil {
		t.Fatalf("envfuncs.DestroyCluster: %v", err)
	}
	destroyed = true
	assertNothingLeft(t, p)
}

func TestInterruptedUpLeavesNothingBehind(t *testing.T) {
	requireKwok(t)
	p, err := cluster.New(cluster.WithName(uniqueName("interrupt")), cluster.WithLog(logWriter{t}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background()) })
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := p.Up(ctx)
		done <- err
	}()
	eventually(t, time.Minute, "the control plane starts", func() bool { return len(clusterProcesses(t, p.Name())) > 0 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Up after cancel: want context.Canceled, got %v", err)
	}
	assertNothingLeft(t, p)
}

func TestCtrlCDuringMageClusterUp(t *testing.T) {
	requireKwok(t)
	name := uniqueName("ctrlc")
	p, err := cluster.New(cluster.WithName(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background()) })

	// Like a terminal's Ctrl-C: SIGINT to the whole process group of
	// `go tool mage cluster:up`.
	cmd := exec.Command("go", "tool", "mage", "cluster:up")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+name, "CLUSTER_PROVIDER=kwok")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the control plane starts", func() bool { return len(clusterProcesses(t, name)) > 0 })
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	t.Logf("mage output:\n%s", out)
	if err == nil {
		t.Fatalf("cluster:up exited 0 after Ctrl-C")
	}
	assertNothingLeft(t, p)
}

func TestUpForRunDeletesOnlyWhatItCreated(t *testing.T) {
	requireKwok(t)
	p, err := cluster.New(cluster.WithName(uniqueName("forrun")), cluster.WithNodes(1), cluster.WithLog(logWriter{t}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background()) })
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	release, err := p.UpForRun(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A second run reuses the cluster and must not delete it.
	again, err := p.UpForRun(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := again(); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Status(testContext(t)); err != nil || !st.Healthy {
		t.Fatalf("the reusing run's release deleted or broke the cluster: %+v, %v", st, err)
	}

	// Cancelling the creating run (Ctrl-C) deletes the cluster it created.
	cancel()
	if err := release(); err != nil {
		t.Fatalf("release after cancel: %v", err)
	}
	assertNothingLeft(t, p)
}
