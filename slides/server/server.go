package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/slides/deck"
)

// DefaultAddr is where Serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:3999"

// EnvAddr names the environment variable that overrides DefaultAddr.
const EnvAddr = "SLIDES_ADDR"

// readyPrefix is what present logs once it listens; the URL follows it.
const readyPrefix = "Open your web browser and visit "

// notesLine is part of what present logs when speaker notes are enabled.
const notesLine = "Notes are enabled"

// Options configures Start.
type Options struct {
	// Root is the repository root, served as the present content directory.
	Root string
	// Addr is the host:port to listen on; port 0 picks a free port.
	Addr string
	// Log receives present's log lines (request errors, for example),
	// except the start-up lines that URL and Serve already report; nil
	// discards them.
	Log io.Writer
}

// Server is a running present process.
type Server struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc // stops present
	url    string
	exited chan struct{}
	err    error // the process's exit error, valid once exited is closed

	mu       sync.Mutex
	stopping bool
}

// Binary returns the path of the present executable pinned as a tool in the
// go.mod of the module containing the current directory, building it into
// the Go build cache if needed.
func Binary(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "present")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating present with `go tool -n present`: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	path := strings.TrimSpace(string(out))
	if path == "" {
		return "", errors.New("`go tool -n present` printed no path")
	}
	return path, nil
}

// Start starts present and returns once it accepts connections. The
// current directory must be inside this repository's module, whose go.mod
// pins present; opts.Root may be any directory. The server
// is not tied to ctx, which only bounds the start-up; call Stop to end it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("resolving content root %s: %w", opts.Root, err)
	}
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	// The server's life is not ctx's: ctx bounds the start only, Stop ends it.
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Server{exited: make(chan struct{}), cancel: cancel}
	s.cmd = proc.Command(runCtx, bin,
		"-http", opts.Addr,
		"-content", root,
		"-notes",
		"-play=false",
	)
	s.cmd.Dir = root
	// present logs to stderr; watch it for the line saying it listens.
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("connecting to present's output: %w", err)
	}
	s.cmd.Stdout = opts.Log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting present: %w", err)
	}
	ready := make(chan string, 1)
	var lastLines tail
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			lastLines.add(line)
			if _, url, ok := strings.Cut(line, readyPrefix); ok {
				select {
				case ready <- strings.TrimSpace(url):
				default:
				}
				continue
			}
			if strings.Contains(line, notesLine) {
				continue // Serve says so itself, next to the deck URLs
			}
			fmt.Fprintln(opts.Log, line)
		}
		// Drain so present never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stderr)
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.url = <-ready:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("present exited before serving (%v): %s", s.err, lastLines.String())
	case <-ctx.Done():
		s.Stop()
		return nil, fmt.Errorf("waiting for present to listen on %s: %w", opts.Addr, ctx.Err())
	}
}

// URL returns the server's base URL, for example "http://127.0.0.1:3999".
func (s *Server) URL() string { return s.url }

// DeckURL returns the URL of a deck given as a slash path relative to the
// repository root, as returned by deck.Find.
func (s *Server) DeckURL(d string) string { return s.url + "/" + d }

// Done is closed when the present process has exited.
func (s *Server) Done() <-chan struct{} { return s.exited }

// Stop asks present to exit with SIGTERM, waits up to five seconds, then
// kills it (harness/proc's policy). It returns nil when present stopped
// because it was asked to.
func (s *Server) Stop() error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cancel()
	<-s.exited
	return s.Err()
}

// Err returns why present exited: nil while it runs or after Stop, an error
// when it exited on its own.
func (s *Server) Err() error {
	select {
	case <-s.exited:
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil
	}
	return fmt.Errorf("present exited: %w", s.err)
}

// Serve serves the decks under root until ctx is done, printing each deck's
// URL to out. The address is $SLIDES_ADDR, or DefaultAddr when unset.
// It returns nil when ctx ends (for example on Ctrl-C).
func Serve(ctx context.Context, root string, out io.Writer) error {
	decks, err := deck.Find(root)
	if err != nil {
		return err
	}
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		addr = DefaultAddr
	}
	s, err := Start(ctx, Options{Root: root, Addr: addr, Log: out})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Serving %d decks with speaker notes (press N in a deck to open them):\n", len(decks))
	for _, d := range decks {
		fmt.Fprintf(out, "  %s\n", s.DeckURL(d))
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	select {
	case <-ctx.Done():
		if err := s.Stop(); err != nil {
			return err
		}
		fmt.Fprintln(out, "Stopped the slide server.")
		return nil
	case <-s.Done():
		return s.Err()
	}
}

// tail keeps the last few lines of output for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > 10 {
		t.lines = t.lines[1:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
