package proc_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

func TestProcessStop(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		wantErr      string // "" for a clean stop
	}{
		{"exits cleanly on SIGTERM", `trap "exit 0" TERM`, ""},
		{"fails on SIGTERM", `trap "exit 7" TERM`, "the sleeper exited: exit status 7"},
		{"ignores SIGTERM", `trap "" TERM`, "did not stop within 1s after SIGTERM and was killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The script says it has set its trap by creating a file.
			ready := filepath.Join(t.TempDir(), "ready")
			p, err := proc.Start("sleeper", "sh", io.Discard, "-c", tc.script+`; touch "$0"; while :; do sleep 0.1; done`, ready)
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				if time.Now().After(deadline) {
					p.Kill()
					t.Fatal("the script never set its trap")
				}
			}
			err = p.Stop(time.Second)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Stop = %v, want a clean stop", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Stop = %v, want an error containing %q", err, tc.wantErr)
			}
			select {
			case <-p.Exited():
			default:
				t.Error("Stop returned before the process exited")
			}
		})
	}
}

func TestProcessKill(t *testing.T) {
	p, err := proc.Start("sleeper", "sleep", io.Discard, "300")
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Err after Kill = %v, want the SIGKILL", err)
	}
	if _, err := proc.Start("ghost", "/nonexistent/ghost", io.Discard); err == nil || !strings.Contains(err.Error(), "start the ghost") {
		t.Errorf("starting a missing binary: %v, want a start error naming it", err)
	}
}
