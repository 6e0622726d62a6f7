package docrun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// Block is one shell block of a Markdown file.
type Block struct {
	File string
	Line int // line of the opening fence
	// Commands are the block's commands; Lines[i] is where Commands[i]
	// starts in File.
	Commands []string
	Lines    []int
	// Exit is the status every command must end with.
	Exit int
	// Background, when not zero, runs the block for at most this long and
	// then stops it.
	Background time.Duration
	// Skip, when set, is why the block is not run.
	Skip string
	// LeaveRunning starts the block's one command in the background, as in
	// a second terminal, and stops it with Ctrl-C once the file is done.
	LeaveRunning bool
	// Output is the text block that follows, if any.
	Output string
}

// shellInfo are the fence info strings of blocks that are run.
var shellInfo = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

// Parse reads the shell blocks of a Markdown file and the output blocks
// that follow them.
func Parse(path string) ([]Block, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		blocks     []Block
		cur        *Block   // shell block being read
		text       *string  // output block being read
		body       []string // lines of cur
		starts     []int
		afterShell bool // the previous fence closed a shell block
	)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		fence, isFence := strings.CutPrefix(trimmed, "```")
		switch {
		case cur != nil && isFence:
			if err := cur.setCommands(body, starts); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, cur.Line, err)
			}
			blocks = append(blocks, *cur)
			cur, body, starts, afterShell = nil, nil, nil, true
		case cur != nil:
			body, starts = append(body, line), append(starts, n)
		case text != nil && isFence:
			blocks[len(blocks)-1].Output = *text
			text = nil
		case text != nil:
			*text += line + "\n"
		case isFence && shellInfo[strings.Fields(fence + " x")[0]]:
			cur = &Block{File: path, Line: n}
		case isFence && afterShell && strings.TrimSpace(fence) == "text":
			s := ""
			text = &s
		case isFence:
			// Some other block: skip to its end.
			for sc.Scan() {
				n++
				if strings.HasPrefix(strings.TrimSpace(sc.Text()), "```") {
					break
				}
			}
			afterShell = false
		case trimmed != "":
			afterShell = false
		}
	}
	if cur != nil || text != nil {
		return nil, fmt.Errorf("%s: a code block is never closed", path)
	}
	return blocks, sc.Err()
}

// setCommands reads the markers at the top of a block and splits the rest
// into commands, joining lines continued with a backslash.
func (b *Block) setCommands(body []string, starts []int) error {
	i := 0
markers:
	for ; i < len(body); i++ {
		t := strings.TrimSpace(body[i])
		comment, isComment := strings.CutPrefix(t, "#")
		key, val, ok := strings.Cut(strings.TrimSpace(comment), ":")
		if strings.TrimSpace(comment) == "leave-running" {
			key, ok = "leave-running", true
		}
		if !isComment || !ok {
			break
		}
		val = strings.TrimSpace(val)
		switch key {
		case "exit":
			n, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("marker %q: want a number", t)
			}
			b.Exit = n
		case "background":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return fmt.Errorf("marker %q: want a number of seconds", t)
			}
			b.Background = time.Duration(n) * time.Second
		case "skip":
			if val == "" {
				return fmt.Errorf("marker %q: say why", t)
			}
			b.Skip = val
		case "leave-running":
			b.LeaveRunning = true
		default:
			break markers // an ordinary comment ends the markers
		}
	}
	var cmd strings.Builder
	for ; i < len(body); i++ {
		line := body[i]
		t := strings.TrimSpace(line)
		if cmd.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if cmd.Len() == 0 {
			b.Lines = append(b.Lines, starts[i])
		}
		if strings.HasSuffix(line, "\\") {
			cmd.WriteString(strings.TrimSuffix(line, "\\") + "\n")
			continue
		}
		if continues(line) {
			cmd.WriteString(line + "\n")
			continue
		}
		if word, ok := heredoc(line); ok {
			// The here-document's lines belong to this command, up to
			// the line holding only its delimiter.
			cmd.WriteString(line + "\n")
			for i++; i < len(body) && strings.TrimSpace(body[i]) != word; i++ {
				cmd.WriteString(body[i] + "\n")
			}
			if i == len(body) {
				return fmt.Errorf("here-document %s is never closed", word)
			}
			line = body[i]
		}
		cmd.WriteString(line)
		b.Commands = append(b.Commands, cmd.String())
		cmd.Reset()
	}
	if cmd.Len() > 0 {
		return errors.New("the last command ends with a backslash, a pipe or an operator")
	}
	if b.LeaveRunning && len(b.Commands) != 1 {
		return errors.New("a leave-running block holds exactly one command")
	}
	return nil
}

// continues reports whether bash reads on after this line: it ends with a
// pipe or an && / || list operator (outside a comment).
func continues(line string) bool {
	t := strings.TrimSpace(line)
	if i := strings.Index(t, " #"); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	return strings.HasSuffix(t, "|") || strings.HasSuffix(t, "&&")
}

// heredocRE matches a here-document redirection: <<WORD, <<'WORD', <<"WORD"
// or <<-WORD.
var heredocRE = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)

// heredoc returns the delimiter of a here-document that line starts.
func heredoc(line string) (string, bool) {
	m := heredocRE.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Runner runs blocks the way a learner would, in one terminal.
type Runner struct {
	// Dir is where the first command starts (the repository root).
	Dir string
	// Env is the terminal's environment at the start.
	Env []string
	// Log receives each command and its output.
	Log io.Writer
	// Timeout bounds one foreground command (default 10 minutes).
	Timeout time.Duration
}

// Run runs the blocks in order and stops at the first that does not do
// what its file says. Skipped blocks are reported to Log.
func (r *Runner) Run(ctx context.Context, blocks []Block) error {
	state, err := os.MkdirTemp("", "docrun-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	log := r.Log
	if log == nil {
		log = io.Discard
	}
	// Commands left running write to the log while later ones run.
	sh := &shell{dir: r.Dir, env: r.Env, state: state, log: &proc.SyncWriter{W: log}}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	var running []*exec.Cmd // left running by earlier blocks, stopped at the end
	defer func() {
		grace := stopGrace
		if ctx.Err() != nil {
			grace = interruptGrace
		}
		for _, c := range running {
			stopAndWait(c, grace)
		}
	}()
	for _, b := range blocks {
		where := fmt.Sprintf("%s:%d", filepath.Base(b.File), b.Line)
		if b.Skip != "" {
			fmt.Fprintf(sh.log, "SKIP %s: %s\n", where, b.Skip)
			continue
		}
		if b.LeaveRunning {
			fmt.Fprintf(sh.log, "$ %s &    # %s:%d, left running\n", b.Commands[0], b.File, b.Lines[0])
			c, err := sh.start(b.Commands[0])
			if err != nil {
				return fmt.Errorf("%s:%d: `%s`: %w", b.File, b.Lines[0], b.Commands[0], err)
			}
			running = append(running, c)
			continue
		}
		for _, c := range running {
			if c.ProcessState != nil || !proc.Alive(c.Process.Pid) {
				return fmt.Errorf("%s: a command left running by an earlier block has exited; the README expects it to keep running", where)
			}
		}
		var out bytes.Buffer
		for i, c := range b.Commands {
			where := fmt.Sprintf("%s:%d", b.File, b.Lines[i])
			fmt.Fprintf(sh.log, "$ %s    # %s\n", c, where)
			code, err := sh.run(ctx, c, &out, timeout, b.Background)
			if err != nil {
				return fmt.Errorf("%s: `%s`: %w\n%s", where, c, err, tail(out.String()))
			}
			if code != b.Exit {
				return fmt.Errorf("%s: `%s` exited %d, want %d\n%s", where, c, code, b.Exit, tail(out.String()))
			}
		}
		if b.Output != "" && !shows(out.String(), b.Output) {
			return fmt.Errorf("%s:%d: the output the README shows after `%s` did not appear.\nwant:\n%s\ngot:\n%s",
				b.File, b.Line, strings.Join(b.Commands, "; "), b.Output, tail(out.String()))
		}
	}
	return nil
}

// shows reports whether output contains every non-blank line of want, in
// order, with runs of white space counted as one space.
func shows(output, want string) bool {
	rest := squash(output)
	for _, line := range strings.Split(want, "\n") {
		l := squash(line)
		if l == "" {
			continue
		}
		i := strings.Index(rest, l)
		if i < 0 {
			return false
		}
		rest = rest[i+len(l):]
	}
	return true
}

// squash folds every run of white space into one space.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 30 {
		lines = append([]string{"…"}, lines[len(lines)-30:]...)
	}
	return strings.Join(lines, "\n")
}

// shell is the learner's terminal: its directory and environment.
type shell struct {
	dir   string
	env   []string
	state string // where a command leaves its environment and directory
	log   io.Writer
}

// start runs command in the background, in the current directory and
// environment, with its output going to the log.
func (s *shell) start(command string) (*exec.Cmd, error) {
	cmd := stopper.Command(context.Background(), "bash", "-c", command)
	cmd.Dir, cmd.Env = s.dir, s.env
	cmd.Stdout, cmd.Stderr = s.log, s.log
	return cmd, cmd.Start()
}

// stopGrace is how long a command gets after Ctrl-C when its block is done
// with it (a background block's time is up, or the README has ended): a
// nested `go tool mage` is done within mage's 5 s.
const stopGrace = 6 * time.Second

// interruptGrace is how long a command gets after Ctrl-C when the run
// itself is stopped. The caller then deletes what the README made, all
// within the 8 s the pipeline gives a stopped suite (pipeline.suiteStopper):
// a nested `go tool mage` may take up to mage's 5 s to stop, and the
// deletion would not fit after the full stopGrace.
const interruptGrace = 2 * time.Second

// stopper ends a command like Ctrl-C in a terminal: SIGINT to its group,
// SIGKILL stopGrace later; run shortens that to interruptGrace when the
// run is stopped.
var stopper = proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(stopGrace))

// stopAndWait sends Ctrl-C to c's group, and SIGKILL if c has not exited
// after grace, and waits for it.
func stopAndWait(c *exec.Cmd, grace time.Duration) {
	_ = proc.StopGroup(c, syscall.SIGINT)
	kill := time.AfterFunc(grace, func() { _ = proc.StopGroup(c, syscall.SIGKILL) })
	_ = c.Wait()
	kill.Stop()
}

// run runs one command and returns its exit status. In the background
// mode the command is stopped with Ctrl-C once background has passed, and
// counts as a success if it was still running then.
func (s *shell) run(ctx context.Context, command string, out *bytes.Buffer, timeout, background time.Duration) (int, error) {
	envFile, dirFile := filepath.Join(s.state, "env"), filepath.Join(s.state, "dir")
	// The command runs in the learner's shell; whatever it exports, and
	// where it cd's to, is saved for the next command.
	script := command + "\n__status=$?\nenv -0 > " + envFile + "\npwd > " + dirFile + "\nexit $__status\n"
	limit := timeout
	if background > 0 {
		limit = background
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := stopper.Command(cctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = s.dir, s.env
	w := io.MultiWriter(out, s.log)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	// A stopped run kills the command sooner than the stopper would.
	exited := make(chan struct{})
	stopKill := context.AfterFunc(ctx, func() {
		select {
		case <-exited:
		case <-time.After(interruptGrace):
			_ = proc.StopGroup(cmd, syscall.SIGKILL)
		}
	})
	err := cmd.Wait()
	close(exited)
	stopKill()
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if background > 0 && cctx.Err() != nil {
		return 0, nil // still running when its time was up: as expected
	}
	if cctx.Err() != nil {
		return 0, fmt.Errorf("still running after %s", timeout)
	}
	code := 0
	var exit interface{ ExitCode() int }
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		return 0, err
	}
	if env, err := os.ReadFile(envFile); err == nil {
		s.env = nil
		for _, kv := range strings.Split(strings.TrimRight(string(env), "\x00"), "\x00") {
			if k, _, _ := strings.Cut(kv, "="); k != "" && k != "_" && k != "SHLVL" && k != "__status" && k != "PWD" && k != "OLDPWD" {
				s.env = append(s.env, kv)
			}
		}
	}
	if dir, err := os.ReadFile(dirFile); err == nil {
		s.dir = strings.TrimSpace(string(dir))
	}
	return code, nil
}
