package chromium

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ErrNotFound reports that no Chromium binary could be found.
var ErrNotFound = errors.New("chromium not found")

// EnvBinary names the environment variable that overrides the binary Find returns.
const EnvBinary = "CHROMIUM"

// candidates are the binary names Find looks up on PATH, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// Find returns the path of the Chromium binary to use.
func Find() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("$%s=%s: %w: %w", EnvBinary, p, ErrNotFound, err)
		}
		return path, nil
	}
	for _, name := range candidates {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s is on PATH (on Debian: apt-get install chromium)",
		ErrNotFound, strings.Join(candidates, ", "))
}

// Flags returns the command-line flags Launch starts Chromium with, given
// a fresh user data directory.
func Flags(userDataDir string) []string {
	return []string{
		"--headless",
		"--no-sandbox",
		"--disable-gpu",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--no-first-run",
		"--no-default-browser-check",
		"--disable-dev-shm-usage",
		"--hide-scrollbars",
		"--mute-audio",
		"--user-data-dir=" + userDataDir,
		"--remote-debugging-pipe",
		"about:blank",
	}
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd         *exec.Cmd
	conn        *conn
	userDataDir string
	stderr      *tailBuffer
	exited      chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// Launch starts the Chromium at binary and connects to it. The browser is
// not tied to ctx, which only bounds the start-up; call Close to stop it.
func Launch(ctx context.Context, binary string) (*Browser, error) {
	dir, err := os.MkdirTemp("", "kubeworkshop-chromium-")
	if err != nil {
		return nil, fmt.Errorf("creating chromium user data dir: %w", err)
	}
	// The browser reads commands from fd 3 and writes replies to fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("creating devtools pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("creating devtools pipe: %w", err)
	}
	b := &Browser{userDataDir: dir, stderr: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	b.cmd = exec.Command(binary, Flags(dir)...)
	b.cmd.ExtraFiles = []*os.File{cmdR, outW}
	b.cmd.Stderr = b.stderr
	b.cmd.SysProcAttr = sysProcAttr()
	err = b.cmd.Start()
	cmdR.Close()
	outW.Close()
	if err != nil {
		cmdW.Close()
		outR.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	go func() {
		_ = b.cmd.Wait() // the exit status of a browser we stop carries no information
		outR.Close()
		close(b.exited)
	}()
	b.conn = newConn(outR, cmdW)

	var version struct {
		Product string `json:"product"`
	}
	if err := b.conn.call(ctx, "", "Browser.getVersion", nil, &version); err != nil {
		b.Close()
		return nil, fmt.Errorf("connecting to %s: %w (stderr: %s)", binary, err, b.stderr.String())
	}
	return b, nil
}

// Close stops the browser, waiting up to ten seconds for it to exit before
// killing its process group, and removes its user data directory.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Browser.close gets no reply when the browser exits first; the
		// process exit below is what counts.
		_, _ = b.conn.send("", "Browser.close", struct{}{}, nil)
		select {
		case <-b.exited:
		case <-ctx.Done():
			killGroup(b.cmd)
			<-b.exited
			b.closeErr = fmt.Errorf("chromium did not exit within 10s and was killed")
		}
		b.conn.close()
		if err := os.RemoveAll(b.userDataDir); err != nil && b.closeErr == nil {
			b.closeErr = fmt.Errorf("removing chromium user data dir: %w", err)
		}
	})
	return b.closeErr
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.buf.String())
}
