package pipeline

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// slowToStop is a script that, on SIGINT, says so in $1/stopping and
// then exits only once $1/release exists, like a suite deleting its
// cluster. It writes its pid to $1/pid when it is ready.
const slowToStop = `trap 'touch "$1/stopping"; until [ -e "$1/release" ]; do sleep 0.05; done; exit 0' INT
echo $$ >"$1/pid.tmp" && mv "$1/pid.tmp" "$1/pid"
while :; do sleep 0.05; done`

// await polls cond until it holds, for at most a minute.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestRunUntilDetachReturnsWhileTheCommandStillStops(t *testing.T) {
	for _, detach := range []bool{true, false} {
		t.Run("detach="+strconv.FormatBool(detach), func(t *testing.T) {
			dir := t.TempDir()
			r := &Runner{Root: dir, Stdout: io.Discard, Stderr: io.Discard}
			s := proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(time.Minute))
			ctx, cancel := context.WithCancel(t.Context())
			cmd := r.commandWith(ctx, s, nil, "sh", "-c", slowToStop, "sh", dir)
			returned := make(chan error, 1)
			go func() { returned <- r.runUntil(ctx, cmd, s.UnderReaper, detach) }()
			await(t, "the script runs", func() bool { return exists(filepath.Join(dir, "pid")) })
			b, _ := os.ReadFile(filepath.Join(dir, "pid"))
			shell, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			t.Cleanup(func() { _ = syscall.Kill(shell, syscall.SIGKILL) })
			cancel()
			await(t, "the script got the stop", func() bool { return exists(filepath.Join(dir, "stopping")) })
			if detach {
				if err := <-returned; !errors.Is(err, context.Canceled) {
					t.Errorf("runUntil = %v, want context.Canceled", err)
				}
				if !proc.Alive(shell) {
					t.Error("the command was cut short: detach must leave it to stop on its own")
				}
				if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				await(t, "the command has exited", func() bool { return !proc.Alive(shell) })
				return
			}
			select {
			case err := <-returned:
				t.Fatalf("runUntil returned %v while the command was still stopping", err)
			default:
			}
			if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := <-returned; !errors.Is(err, context.Canceled) {
				t.Errorf("runUntil = %v, want context.Canceled", err)
			}
			if proc.Alive(shell) {
				t.Error("runUntil returned before the command exited")
			}
		})
	}
}
