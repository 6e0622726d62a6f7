package proc_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// parent reads pid's parent from /proc/<pid>/stat (0 once it is gone).
func parent(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

func TestCatchOrphansStopsWhatAChildLeftBehind(t *testing.T) {
	release, err := proc.CatchOrphans(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// sh starts sleep as the leader of a session and group of its own, as
	// envtest starts etcd, and exits without stopping it.
	out, err := exec.Command("sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("sh printed %q, want a pid", out)
	}
	t.Cleanup(func() { _ = exec.Command("kill", "-9", strconv.Itoa(pid)).Run() })
	// The orphan is handed to this process, not to init.
	for deadline := time.Now().Add(10 * time.Second); parent(pid) != os.Getpid(); {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %d has parent %d, want this process %d", pid, parent(pid), os.Getpid())
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := release()
	// Named by its command: setsid until it has run sleep.
	if want := fmt.Sprintf(" (%d)", pid); !slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, want) }) {
		t.Errorf("release stopped %v, want process %d among them", got, pid)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !os.IsNotExist(err) {
		t.Errorf("sleep %d is still there (running or unreaped): %v", pid, err)
	}
	// Released, this process is no subreaper: the next orphan goes to init
	// (or to a subreaper above this process).
	out, err = exec.Command("sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	next, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	t.Cleanup(func() { _ = exec.Command("kill", "-9", strconv.Itoa(next)).Run() })
	for deadline := time.Now().Add(10 * time.Second); parent(next) == 0 || parent(next) == os.Getpid(); {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %d still has parent %d after release", next, parent(next))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
