package chromium

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
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

// options are the allocator options Launch starts Chromium with: chromedp's
// defaults (headless, no first run, no background networking, no sync, a
// fresh user data directory that is removed afterwards) plus what a root
// user in a container needs and what keeps screenshots reproducible.
func options(binary string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(binary),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	)
}

// Browser is a running headless Chromium, driven by chromedp over
// --remote-debugging-pipe (no network port).
type Browser struct {
	ctx         context.Context // the browser's chromedp context
	cancelAlloc context.CancelFunc
	cancel      context.CancelFunc
	closeOnce   sync.Once
	closeErr    error
}

// Launch starts the Chromium at binary. The browser is not tied to ctx,
// which only bounds the start-up; call Close to stop it.
func Launch(ctx context.Context, binary string) (*Browser, error) {
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), options(binary)...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: bctx, cancelAlloc: cancelAlloc, cancel: cancel}
	// The first Run starts the browser and ties it to the context it gets,
	// so it runs on bctx; ctx may only cut it short.
	stop := context.AfterFunc(ctx, cancel)
	err := chromedp.Do(bctx)
	stop()
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	return b, nil
}

// Close stops the browser, waiting up to ten seconds for it to exit
// gracefully before it is killed, and removes its user data directory.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			b.closeErr = fmt.Errorf("closing chromium: %w", err)
		}
		b.cancel()
		b.cancelAlloc() // waits for the process and removes the user data dir
	})
	return b.closeErr
}
