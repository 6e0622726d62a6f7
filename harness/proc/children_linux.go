package proc

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// InterruptChildren sends SIGINT to every direct child of this process.
func InterruptChildren() {
	for _, pid := range Children(os.Getpid()) {
		_ = syscall.Kill(pid, syscall.SIGINT)
	}
}

// Children lists the pids of the direct children of pid, read from /proc.
func Children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// Alive reports whether pid is a process that has not exited: it exists
// and is not a zombie waiting to be reaped.
func Alive(pid int) bool {
	fields, ok := stat(pid)
	return ok && fields[0] != "Z"
}

// parentOf reads the parent pid of pid.
func parentOf(pid int) (int, bool) {
	fields, ok := stat(pid)
	if !ok {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// stat returns the fields of /proc/<pid>/stat after the command name
// (state, ppid, ...). The name in parentheses may itself contain spaces and
// parentheses, so the fields are counted after the last ')'.
func stat(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	fields := strings.Fields(s[i+1:])
	return fields, len(fields) >= 2
}
