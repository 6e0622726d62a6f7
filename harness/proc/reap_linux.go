package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reaperEnv starts a copy of a program that imports this package in the
// role of a reaper (see Starter.UnderReaper) instead of its own main. Its
// value is the stop policy the reaper applies to the command: the signal's
// number and the grace period, as "2:3s".
const reaperEnv = "KUBEWORKSHOP_PROC_REAPER"

// reaperGrace is how long what a command left running gets between SIGTERM
// and SIGKILL once the command has exited.
const reaperGrace = time.Second

func init() {
	if policy := os.Getenv(reaperEnv); policy != "" {
		os.Exit(serveReaper(policy, os.Args[1:]))
	}
}

// UnderReaper is New().UnderReaper, for a command not made by a Starter.
func UnderReaper(cmd *exec.Cmd) error { return New().UnderReaper(cmd) }

// UnderReaper makes cmd, not yet started, run under a reaper: a copy of
// this executable that becomes the subreaper of the command's descendants
// (Linux's PR_SET_CHILD_SUBREAPER), reaps each of them as it exits, and,
// once the command has exited, stops what it left running (SIGTERM, SIGKILL
// after a second), says what that was on stderr, and exits with the
// command's status.
//
// That catches the processes a command loses track of: envtest starts etcd
// and kube-apiserver in process groups of their own, and a test binary
// stopped by Ctrl-C runs no cleanup, so without a reaper they outlive it,
// re-parented to init.
//
// The command runs in a process group of its own, apart from the reaper's,
// and the reaper applies s's stop policy to it: the first stop signal that
// reaches the reaper is passed on to the command's group, which is killed
// with SIGKILL after s's grace period; later ones are not passed on. The
// reaper thus outlives a command that is slow to stop (a ginkgo suite cleaning up after Ctrl-C) and still
// stops what it left. For a command made by s.Command, a cancelled context
// signals the reaper alone, and SIGKILL reaches the reaper only if it has
// not exited a second after its own work should be done.
func (s Starter) UnderReaper(cmd *exec.Cmd) error {
	if cmd.Process != nil {
		return errors.New("UnderReaper: the command has already started")
	}
	if cmd.Err != nil {
		return cmd.Err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this executable to run a reaper: %w", err)
	}
	cmd.Args = append([]string{exe, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = exe
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(slices.Clone(cmd.Env), fmt.Sprintf("%s=%d:%s", reaperEnv, int(s.sig), s.grace))
	if cmd.Cancel != nil { // made by a Starter: the reaper stops the command
		bound := s.grace + reaperGrace + time.Second
		cmd.Cancel = func() error {
			err := cmd.Process.Signal(s.sig)
			time.AfterFunc(bound, func() { _ = cmd.Process.Kill() })
			return err
		}
		cmd.WaitDelay = bound + time.Second
	}
	return nil
}

// parsePolicy reads the stop policy UnderReaper passes in reaperEnv.
func parsePolicy(v string) (syscall.Signal, time.Duration, error) {
	num, dur, ok := strings.Cut(v, ":")
	sig, err := strconv.Atoi(num)
	if !ok || err != nil || sig <= 0 {
		return 0, 0, fmt.Errorf("bad stop policy %q, want <signal>:<grace>", v)
	}
	grace, err := time.ParseDuration(dur)
	if err != nil {
		return 0, 0, fmt.Errorf("bad stop policy %q: %w", v, err)
	}
	return syscall.Signal(sig), grace, nil
}

// serveReaper is the reaper's main: it runs argv and returns the exit code.
func serveReaper(policy string, argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "reaper: no command given")
		return 2
	}
	sig, grace, err := parsePolicy(policy)
	if err != nil {
		fmt.Fprintf(os.Stderr, "reaper: %v\n", err)
		return 2
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "reaper: become child subreaper: %v\n", err)
		return 2
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, Signals...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, reaperEnv+"=") })
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "reaper: %v\n", err)
		return 127
	}
	group := cmd.Process.Pid
	var (
		mu     sync.Mutex
		exited bool        // the command itself has exited
		kill   *time.Timer // armed by the first stop signal
	)
	// Only the first stop signal is passed on: more follow (the parent's
	// own death signal when it gives up before the reaper is done), and a
	// second Ctrl-C tells a ginkgo suite to skip its cleanup.
	go func() {
		for received := range sigs {
			mu.Lock()
			if !exited && kill == nil {
				_ = syscall.Kill(-group, received.(syscall.Signal))
				kill = time.AfterFunc(grace, func() { _ = syscall.Kill(-group, syscall.SIGKILL) })
			}
			mu.Unlock()
		}
	}()
	code := -1
	for code < 0 {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "reaper: wait: %v\n", err)
			return 2
		}
		if pid == group {
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
	}
	mu.Lock()
	exited = true
	stopping := kill != nil
	mu.Unlock()
	// A command may exit on the stop before the rest of its group is done
	// stopping (gotestsum exits at once; go test waits for a suite that is
	// deleting its cluster). They get the rest of the grace period.
	for stopping && groupAlive(group) {
		reapExited()
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if kill != nil {
		kill.Stop()
	}
	mu.Unlock()
	// Everything still a child of the reaper was left behind (the rest of
	// the command's group included). Stopping it may orphan its own
	// children in turn: repeat until none is left.
	var stopped []string
	for range 5 {
		left := Children(os.Getpid())
		if len(left) == 0 {
			break
		}
		for _, pid := range left {
			stopped = append(stopped, fmt.Sprintf("%s (%d)", command(pid), pid))
		}
		stopAll(left, reaperGrace)
	}
	if len(stopped) > 0 {
		fmt.Fprintf(os.Stderr, "==> stopped what %s left running: %s\n", describe(argv), strings.Join(stopped, ", "))
	}
	return code
}

// groupAlive reports whether process group pgid has a member left.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }

// reapExited reaps every child of this process that has exited.
func reapExited() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// describe names a command by its program and first two arguments.
func describe(argv []string) string {
	words := append([]string{argv[0][strings.LastIndexByte(argv[0], '/')+1:]}, argv[1:min(3, len(argv))]...)
	return strings.Join(words, " ")
}

// stopAll sends SIGTERM to each pid's group (or the pid alone when it leads
// none), SIGKILL to those still alive after grace, and reaps them all.
func stopAll(pids []int, grace time.Duration) {
	signalAll := func(sig syscall.Signal) {
		for _, pid := range pids {
			if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
				_ = syscall.Kill(-pid, sig)
			} else {
				_ = syscall.Kill(pid, sig)
			}
		}
	}
	anyAlive := func() bool { return slices.ContainsFunc(pids, Alive) }
	signalAll(syscall.SIGTERM)
	for deadline := time.Now().Add(grace); anyAlive() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if anyAlive() {
		signalAll(syscall.SIGKILL)
	}
	for _, pid := range pids {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
	}
}

// command is the name of pid's executable, from /proc.
func command(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
