package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Logs keeps every container run's stdout and stderr in a file,
// <root>/<namespace>/<pod>/<uid>/<container>/<restart>.log, so `kubectl logs
// --previous` finds the run before, even after the agent restarted.
type Logs struct {
	root string
	mu   sync.Mutex
	live map[string]*LogFile // by path, while its run lasts
}

// NewLogs keeps logs under root.
func NewLogs(root string) *Logs { return &Logs{root: root, live: map[string]*LogFile{}} }

// LogRef names one container of one pod.
type LogRef struct {
	Namespace, Pod, UID, Container string
}

func (l *Logs) dir(r LogRef) string {
	return filepath.Join(l.root, r.Namespace, r.Pod, r.UID, r.Container)
}

// LogFile is the log of one run; it is an io.Writer for the module's
// stdout and stderr, and followers see every write at once.
type LogFile struct {
	logs *Logs
	path string
	mu   sync.Mutex
	f    *os.File
	wake chan struct{} // closed and replaced on every write
	done bool
}

// Create starts the log of run number restart (the container's restart count).
func (l *Logs) Create(r LogRef, restart int32) (*LogFile, error) {
	dir := l.dir(r)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	p := filepath.Join(dir, strconv.Itoa(int(restart))+".log")
	f, err := os.Create(p)
	if err != nil {
		return nil, fmt.Errorf("create log file: %w", err)
	}
	lf := &LogFile{logs: l, path: p, f: f, wake: make(chan struct{})}
	l.mu.Lock()
	l.live[p] = lf
	l.mu.Unlock()
	return lf, nil
}

// Write appends to the log and wakes its followers.
func (lf *LogFile) Write(p []byte) (int, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	n, err := lf.f.Write(p)
	close(lf.wake)
	lf.wake = make(chan struct{})
	return n, err
}

// Close ends the run's log; followers stop once they have read it all.
func (lf *LogFile) Close() error {
	lf.logs.mu.Lock()
	delete(lf.logs.live, lf.path)
	lf.logs.mu.Unlock()
	lf.mu.Lock()
	defer lf.mu.Unlock()
	lf.done = true
	close(lf.wake)
	lf.wake = make(chan struct{})
	return lf.f.Close()
}

// waiter returns a channel closed by the next write, and whether the run ended.
func (lf *LogFile) waiter() (<-chan struct{}, bool) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.wake, lf.done
}

// Remove deletes the logs of a pod that is gone.
func (l *Logs) Remove(namespace, pod, uid string) error {
	return os.RemoveAll(filepath.Join(l.root, namespace, pod, uid))
}

// ErrNoLogs means the requested run has no log (yet).
var ErrNoLogs = errors.New("no logs")

// LogOptions are the parts of the kubelet's log query the agent honours.
type LogOptions struct {
	Previous   bool
	Follow     bool
	TailLines  int64 // < 0: all
	LimitBytes int64 // <= 0: no limit
}

// Read writes a run's log to w: the current run (the newest file) or, with
// Previous, the one before. With Follow it keeps writing until the run
// ends or ctx is done; flush is called after every chunk.
func (l *Logs) Read(ctx context.Context, r LogRef, o LogOptions, w io.Writer, flush func()) error {
	runs, err := filepath.Glob(filepath.Join(l.dir(r), "*.log"))
	if err != nil || len(runs) == 0 {
		return fmt.Errorf("%w: container %q in pod %s/%s has not started", ErrNoLogs, r.Container, r.Namespace, r.Pod)
	}
	newest := -1
	for _, p := range runs {
		if n, err := strconv.Atoi(filepath.Base(p[:len(p)-4])); err == nil && n > newest {
			newest = n
		}
	}
	run := newest
	if o.Previous {
		run--
	}
	p := filepath.Join(l.dir(r), strconv.Itoa(run)+".log")
	f, err := os.Open(p)
	if err != nil {
		if o.Previous {
			return fmt.Errorf("%w: previous terminated container %q in pod %q not found", ErrNoLogs, r.Container, r.Pod)
		}
		return fmt.Errorf("%w: %v", ErrNoLogs, err)
	}
	defer f.Close()
	if o.LimitBytes > 0 {
		w = &limitWriter{w: w, n: o.LimitBytes}
	}
	if o.TailLines >= 0 {
		if err := seekTail(f, o.TailLines); err != nil {
			return err
		}
	}
	l.mu.Lock()
	live := l.live[p]
	l.mu.Unlock()
	buf := make([]byte, 32<<10)
	for {
		var wake <-chan struct{}
		done := true
		if live != nil {
			wake, done = live.waiter()
		}
		for {
			n, err := f.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return nil // the client went away, or the byte limit was reached
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		flush()
		if !o.Follow || done {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(time.Second): // a safety net; writes wake us sooner
		}
	}
}

// seekTail positions f at the start of its last n lines.
func seekTail(f *os.File, n int64) error {
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	off := int64(len(b))
	for i := int64(0); i < n && off > 0; i++ {
		off = int64(bytes.LastIndexByte(b[:off], '\n'))
	}
	start := off + 1
	if n == 0 {
		start = int64(len(b)) + 1
	}
	if start < 0 {
		start = 0
	}
	_, err = f.Seek(start, io.SeekStart)
	return err
}

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.w.Write(p)
	l.n -= int64(n)
	if err == nil && l.n <= 0 {
		err = io.EOF
	}
	return n, err
}
