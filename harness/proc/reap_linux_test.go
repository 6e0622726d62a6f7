package proc_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

func TestUnderReaperStopsWhatTheCommandLeftBehind(t *testing.T) {
	// sh starts sleep as the leader of a session and group of its own, as
	// envtest starts etcd, and exits without stopping it.
	cmd := exec.Command("sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := proc.UnderReaper(cmd); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("sh printed %q, want a pid", out)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// Stopped and reaped by the time the reaper has exited.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !os.IsNotExist(err) {
		t.Errorf("sleep %d is still there (running or unreaped): %v", pid, err)
	}
	if want := fmt.Sprintf("(%d)", pid); !strings.Contains(stderr.String(), "stopped what sh -c") || !strings.Contains(stderr.String(), want) {
		t.Errorf("the reaper said %q, want it to name process %d", stderr.String(), pid)
	}
}

func TestUnderReaperKeepsTheCommandsStatusAndReapsAtOnce(t *testing.T) {
	// A grandchild orphaned (its parent, the inner sh, exits) and killed
	// while the command still runs is reaped at once by the reaper, its new
	// parent: no zombie is left for kill -0 to find. Exit 4 says one was.
	script := `p=$(sh -c 'setsid sleep 300 >/dev/null 2>&1 & echo $!')
kill -9 $p
for i in $(seq 1000); do kill -0 $p 2>/dev/null || exit 3; sleep 0.01; done
exit 4`
	cmd := exec.Command("sh", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := proc.UnderReaper(cmd); err != nil {
		t.Fatal(err)
	}
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("got %v, want exit status 3 (stderr: %s)", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("nothing was left running, but the reaper said %q", stderr.String())
	}
}

func TestUnderReaperRefusesAStartedCommand(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := proc.UnderReaper(cmd); err == nil {
		t.Error("a command that has run was accepted")
	}
}
