package kwok

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

func TestKillComponentsKillsOnlyTheClustersOwn(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	// ours names the cluster's directory on its command line, as every
	// component kwokctl starts does; other does not (its pid file is stale
	// and the pid reused).
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command("sh", append([]string{"-c", "while :; do sleep 0.05; done"}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	ours := start("sh", filepath.Join(dir, "etcd", "data"))
	other := start("sh", "/elsewhere")
	for name, content := range map[string]string{
		"etcd.pid":            strconv.Itoa(ours.Process.Pid),
		"kube-apiserver.pid":  strconv.Itoa(other.Process.Pid),
		"kube-scheduler.pid":  "not a pid",
		"kwok-controller.pid": "1",
	} {
		if err := os.WriteFile(filepath.Join(dir, "pids", name), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	killComponents(dir)
	exited := make(chan error, 1)
	go func() { exited <- ours.Wait() }()
	select {
	case err := <-exited:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.String() != "signal: killed" {
			t.Errorf("the cluster's process ended with %v, want killed", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the cluster's own process is still running")
	}
	// other is not waited for: killed, it would be a zombie, which
	// proc.Alive tells apart.
	if !proc.Alive(other.Process.Pid) {
		t.Error("a process that does not belong to the cluster was killed")
	}
}
