package docrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

func TestParse(t *testing.T) {
	blocks, err := Parse("testdata/good.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 6 {
		t.Fatalf("got %d shell blocks, want 6: %+v", len(blocks), blocks)
	}
	for _, tc := range []struct {
		i        int
		commands []string
		line     int
		exit     int
		bg       time.Duration
		skip     string
		output   string
	}{
		{0, []string{"export GREETING=hello", "cd harness", `echo "$GREETING from $(basename "$PWD")"`}, 5, 0, 0, "", "hello   from\nharness\n"},
		{1, []string{"sh -c 'exit 3'"}, 18, 3, 0, "", ""},
		{2, []string{"echo serving; sleep 30"}, 23, 0, time.Second, "", "serving\n"},
		{3, []string{"sleep 300"}, 33, 0, 0, "", ""},
		{4, []string{"exit 9"}, 38, 0, 0, "needs a kind cluster", ""},
		{5, []string{"printf 'a b \nc\\n'", "printf 'x\\ny\\n' |\n  grep y &&\n  echo piped", "cat <<'EOF' | tr a-z A-Z\nhere doc\nEOF"}, 48, 0, 0, "", ""},
	} {
		b := blocks[tc.i]
		if b.LeaveRunning != (tc.i == 3) {
			t.Errorf("block %d: LeaveRunning = %v", tc.i, b.LeaveRunning)
		}
		if strings.Join(b.Commands, "|") != strings.Join(tc.commands, "|") || b.Line != tc.line || b.Exit != tc.exit ||
			b.Background != tc.bg || b.Skip != tc.skip || b.Output != tc.output {
			t.Errorf("block %d = %+v\nwant commands %q line %d exit %d background %s skip %q output %q", tc.i, b, tc.commands, tc.line, tc.exit, tc.bg, tc.skip, tc.output)
		}
	}
}

func TestParseRejectsBadMarkers(t *testing.T) {
	for _, md := range []string{"```sh\n# exit: one\ntrue\n```\n", "```sh\n# background: -1\ntrue\n```\n", "```sh\n# skip:\ntrue\n```\n", "```sh\ntrue\n", "```sh\ncat <<EOF\nnever closed\n```\n"} {
		f := t.TempDir() + "/README.md"
		if err := os.WriteFile(f, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f); err == nil {
			t.Errorf("Parse accepted %q", md)
		}
	}
}

func run(t *testing.T, file string) (string, error) {
	t.Helper()
	blocks, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := &Runner{Dir: "../..", Env: os.Environ(), Log: &log}
	err = r.Run(t.Context(), blocks)
	return log.String(), err
}

func TestRunFollowsTheREADME(t *testing.T) {
	log, err := run(t, "testdata/good.md")
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log)
	}
	for _, want := range []string{"hello from harness", "left running", "SKIP good.md:38: needs a kind cluster", "a b \nc", "y\npiped", "HERE DOC"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestRunNamesTheFailingCommand(t *testing.T) {
	_, err := run(t, "testdata/broken.md")
	if err == nil {
		t.Fatal("a README whose command fails passed")
	}
	for _, want := range []string{"testdata/broken.md:8", "`ls no-such-file-here`", "exited 2, want 0", "No such file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestRunChecksTheShownOutput(t *testing.T) {
	_, err := run(t, "testdata/wrong-output.md")
	if err == nil {
		t.Fatal("a README whose shown output does not appear passed")
	}
	for _, want := range []string{"testdata/wrong-output.md:1", "did not appear", "web-0", "No pods found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestShows(t *testing.T) {
	out := "provider:   kwok\nstate:      healthy\nserver:     https://127.0.0.1:2\nnodes:      3/3 Ready\n"
	for _, tc := range []struct {
		want string
		ok   bool
	}{
		{"state: healthy\nnodes: 3/3 Ready\n", true},
		{"state:\thealthy", true},
		{"nodes: 3/3 Ready\nstate: healthy\n", false}, // out of order
		{"state: unhealthy", false},
		{"\n\n", true},
	} {
		if got := shows(out, tc.want); got != tc.ok {
			t.Errorf("shows(%q) = %v, want %v", tc.want, got, tc.ok)
		}
	}
}

func TestRunFailsWhenALeftRunningCommandDies(t *testing.T) {
	f := t.TempDir() + "/README.md"
	md := "```sh\n# leave-running\nsleep 0.2; exit 4\n```\n\n```sh\nsleep 1\n```\n\n```sh\ntrue\n```\n"
	if err := os.WriteFile(f, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, f)
	if err == nil || !strings.Contains(err.Error(), "left running by an earlier block has exited") {
		t.Fatalf("want the died-early error, got %v", err)
	}
}

// A stopped run must not give its commands the normal 6 s: the README
// suite deletes its cluster after them, within the pipeline's 8 s. The
// commands here ignore Ctrl-C, so only the SIGKILL ends them.
func TestRunStoppedKillsItsCommandsWithinTheInterruptGrace(t *testing.T) {
	for _, tt := range []struct{ name, md string }{
		{"a foreground command", "```sh\ntrap '' INT; echo $$ > %[1]s; while :; do sleep 0.1; done\n```\n"},
		{"a command left running", "```sh\n# leave-running\ntrap '' INT; echo $$ > %[1]s; while :; do sleep 0.1; done\n```\n\n```sh\nsleep 60\n```\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile := dir + "/pid"
			f := dir + "/README.md"
			if err := os.WriteFile(f, []byte(fmt.Sprintf(tt.md, pidFile)), 0o644); err != nil {
				t.Fatal(err)
			}
			blocks, err := Parse(f)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- (&Runner{Dir: dir, Env: os.Environ()}).Run(ctx, blocks) }()
			var pid int
			for pid == 0 {
				select {
				case err := <-done:
					t.Fatalf("Run returned before its command started: %v", err)
				case <-time.After(10 * time.Millisecond):
				}
				b, _ := os.ReadFile(pidFile)
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			cancel()
			start := time.Now()
			<-done
			// Generous against the 2 s grace; the normal one is 6 s.
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Run returned %s after it was stopped; want the interrupt grace (%s), not %s", took, interruptGrace, stopGrace)
			}
			if proc.Alive(pid) {
				t.Errorf("the command (pid %d) still runs after Run returned", pid)
			}
		})
	}
}
