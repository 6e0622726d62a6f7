package proc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// startReaped starts script under a reaper with starter's stop policy, and
// returns once the script has written its own pid and its child's to a
// file: both are running.
func startReaped(t *testing.T, ctx context.Context, starter proc.Starter, script string) (cmd *exec.Cmd, shell, child int, stderr *bytes.Buffer) {
	t.Helper()
	pids := filepath.Join(t.TempDir(), "pids")
	cmd = starter.Command(ctx, "sh", "-c", script, "sh", pids)
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := starter.UnderReaper(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if shell > 0 {
			_ = syscall.Kill(shell, syscall.SIGKILL)
		}
		if child > 0 {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
	})
	for {
		b, err := os.ReadFile(pids)
		if f := strings.Fields(string(b)); err == nil && len(f) == 2 && strings.HasSuffix(string(b), "\n") {
			shell, _ = strconv.Atoi(f[0])
			child, _ = strconv.Atoi(f[1])
			return cmd, shell, child, stderr
		}
		if !proc.Alive(cmd.Process.Pid) {
			t.Fatalf("the reaper exited before the script started: %s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gone reports whether pid has exited and been reaped.
func gone(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return os.IsNotExist(err)
}

func TestUnderReaperPassesTheStopOnAndKeepsTheStatus(t *testing.T) {
	// The script stops on SIGINT with a status of its own: the reaper
	// passed the signal on rather than killing it. Its child (in a session
	// of its own, as envtest's etcd) is stopped by the reaper.
	ctx, cancel := context.WithCancel(t.Context())
	starter := proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(time.Minute))
	cmd, shell, child, stderr := startReaped(t, ctx, starter,
		`trap 'exit 7' INT; setsid sleep 300 >/dev/null 2>&1 & echo $$ $! >"$1"; while :; do sleep 0.05; done`)
	cancel()
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Errorf("got %v, want exit status 7 from the script's trap (stderr: %s)", err, stderr)
	}
	for _, pid := range []int{shell, child} {
		if !gone(pid) {
			t.Errorf("process %d is still there after the reaper exited", pid)
		}
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("(%d)", child)) {
		t.Errorf("the reaper said %q, want it to name process %d", stderr, child)
	}
}

func TestUnderReaperKillsACommandSlowToStopAndStillReaps(t *testing.T) {
	// The script ignores the stop signal. After the grace period the reaper
	// kills its group, then stops what it left: the reaper is not in that
	// group, so it lives to do it (this is a ginkgo suite still cleaning up
	// when the stop policy's time is up).
	ctx, cancel := context.WithCancel(t.Context())
	starter := proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(100*time.Millisecond))
	cmd, shell, child, stderr := startReaped(t, ctx, starter,
		`trap '' INT; setsid sleep 300 >/dev/null 2>&1 & echo $$ $! >"$1"; while :; do sleep 0.05; done`)
	cancel()
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 128+int(syscall.SIGKILL) {
		t.Errorf("got %v, want exit status %d: the script killed (stderr: %s)", err, 128+int(syscall.SIGKILL), stderr)
	}
	for _, pid := range []int{shell, child} {
		if !gone(pid) {
			t.Errorf("process %d is still there after the reaper exited", pid)
		}
	}
}

func TestUnderReaperLetsTheCommandsGroupFinishStopping(t *testing.T) {
	// The command's leader exits on the stop at once (as gotestsum does),
	// while another member of its group takes its time to clean up (go
	// test waiting for a suite that deletes its cluster). The reaper waits
	// for it within the grace period instead of stopping it as left over.
	dir := t.TempDir()
	script := `( trap 'touch "$1/stopping"; until [ -e "$1/release" ]; do sleep 0.05; done; touch "$1/done"; exit 0' TERM
  while :; do sleep 0.05; done ) &
trap 'exit 3' TERM
echo $$ $! >"$1/pids.tmp" && mv "$1/pids.tmp" "$1/pids"
while :; do sleep 0.05; done`
	ctx, cancel := context.WithCancel(t.Context())
	starter := proc.New(proc.WithGrace(time.Minute)) // SIGTERM
	cmd := starter.Command(ctx, "sh", "-c", script, "sh", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := starter.UnderReaper(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	await := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s (stderr: %s)", what, stderr.String())
			}
		}
	}
	await("the script runs", func() bool { return exists("pids") })
	b, _ := os.ReadFile(filepath.Join(dir, "pids"))
	f := strings.Fields(string(b))
	leader, _ := strconv.Atoi(f[0])
	member, _ := strconv.Atoi(f[1])
	t.Cleanup(func() { _ = syscall.Kill(member, syscall.SIGKILL) })
	waited := make(chan error, 1)
	cancel()
	go func() { waited <- cmd.Wait() }()
	await("the member got the stop and the leader has exited", func() bool { return exists("stopping") && gone(leader) })
	select {
	case err := <-waited:
		t.Fatalf("the reaper exited (%v) while the command's group was still stopping; stderr: %s", err, stderr.String())
	default:
	}
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := <-waited; !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("got %v, want the leader's exit status 3 (stderr: %s)", err, stderr.String())
	}
	if !exists("done") || strings.Contains(stderr.String(), fmt.Sprintf("(%d)", member)) {
		t.Errorf("the member was stopped as left over instead of finishing its cleanup (stderr: %s)", stderr.String())
	}
}
