package proc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// The test binary doubles as the processes the tests start.
func TestMain(m *testing.M) {
	switch os.Getenv("PROC_TEST_ROLE") {
	case "orphan-parent":
		// Start a child that asks to die with us, print its pid, exit.
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "PROC_TEST_ROLE=die-with-parent")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			os.Exit(3)
		}
		buf := make([]byte, 16)
		n, _ := out.Read(buf) // the child says "ready" once its signal is set
		if strings.TrimSpace(string(buf[:n])) != "ready" {
			os.Exit(4)
		}
		fmt.Println(cmd.Process.Pid)
		os.Exit(0)
	case "die-with-parent":
		if err := proc.DieWithParent(syscall.SIGKILL); err != nil {
			os.Exit(5)
		}
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// groupGone polls until no process of group pgid is left.
func groupGone(t *testing.T, pgid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has processes %s after the stop", pgid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCommandStopsTheWholeGroup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		opts   []proc.Option
	}{
		// sh and its background sleep both get SIGTERM.
		{"a group that obeys the stop signal", "sleep 60 & echo started; wait", nil},
		// A group that ignores SIGTERM is killed after the grace period.
		{"a group that ignores it", "trap '' TERM; sleep 60 & echo started; wait", []proc.Option{proc.WithGrace(300 * time.Millisecond)}},
		// A non-interactive shell starts background jobs with SIGINT ignored:
		// the sleep outlives the SIGINT and is killed at the end of the grace.
		{"SIGINT as the stop signal", "sleep 60 & echo started; wait", []proc.Option{proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(300 * time.Millisecond)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := proc.New(tc.opts...).Command(ctx, "sh", "-c", tc.script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			if n, _ := out.Read(buf); !strings.HasPrefix(string(buf[:n]), "started") {
				t.Fatalf("child said %q, want started", buf[:n])
			}
			pgid, err := syscall.Getpgid(cmd.Process.Pid)
			if err != nil || pgid != cmd.Process.Pid {
				t.Fatalf("child's process group = %d (%v), want its own (%d)", pgid, err, cmd.Process.Pid)
			}
			cancel()
			if err := cmd.Wait(); err == nil {
				t.Fatal("Wait returned nil for a stopped child")
			}
			groupGone(t, pgid, 10*time.Second)
		})
	}
}

func TestDieWithParent(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROC_TEST_ROLE=orphan-parent")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parent: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("parent printed %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for proc.Alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d outlived its parent", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStopOnSignalsTurnsTermAndHupIntoInterrupt(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			got := make(chan os.Signal, 1)
			signal.Notify(got, os.Interrupt)
			defer signal.Stop(got)
			stop := proc.StopOnSignals()
			defer stop()
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case s := <-got:
				if s != os.Interrupt {
					t.Fatalf("got %v, want interrupt", s)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%v was not turned into SIGINT", sig)
			}
		})
	}
}
