package chromium

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// PageOptions configures a new page.
type PageOptions struct {
	// Width and Height are the viewport size in CSS pixels; zero means 1280x800.
	Width, Height int
	// Origin, when set (for example "http://127.0.0.1:3999"), makes the page
	// hermetic: requests to any other http(s) origin get an empty 200
	// response instead of reaching the network, and are listed by External.
	Origin string
}

// Page is one browser tab.
type Page struct {
	ctx    context.Context // the tab's chromedp context
	cancel context.CancelFunc
	origin string

	mu       sync.Mutex
	problems []string
	external []string
}

// NewPage opens a blank tab.
func (b *Browser) NewPage(ctx context.Context, opts PageOptions) (*Page, error) {
	if opts.Width == 0 {
		opts.Width = 1280
	}
	if opts.Height == 0 {
		opts.Height = 800
	}
	p := &Page{origin: strings.TrimSuffix(opts.Origin, "/")}
	p.ctx, p.cancel = chromedp.NewContext(b.ctx, chromedp.WithListener(p.onEvent))
	// The first Run opens the tab and ties it to the context it gets, so it
	// runs on p.ctx; ctx may only cut it short.
	stop := context.AfterFunc(ctx, p.cancel)
	err := chromedp.Do(p.ctx, chromedp.EmulateViewport(int64(opts.Width), int64(opts.Height)))
	stop()
	if err == nil && p.origin != "" {
		_, err = call(ctx, p, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}})
	}
	if err != nil {
		p.cancel()
		return nil, fmt.Errorf("opening tab: %w", err)
	}
	return p, nil
}

// run runs an action in p's tab, bounded by ctx as well as by the tab's life.
func run[T any](ctx context.Context, p *Page, action chromedp.Action[T]) (T, error) {
	tctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	v, err := chromedp.Run(tctx, action)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return v, err
}

// call sends one protocol command to p's tab.
func call[P, R any](ctx context.Context, p *Page, cmd cdp.Command[P, R], params P) (R, error) {
	return run(ctx, p, func(ctx context.Context, t *chromedp.Target) (R, error) {
		return cdp.Call(ctx, t, cmd, params)
	})
}

// onEvent records what the page reports. chromedp calls it on the tab's
// reader goroutine, so it never waits for a command's result.
func (p *Page) onEvent(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			var s string
			if a.Description != "" || json.Unmarshal(a.Value, &s) != nil {
				s = a.Description + string(a.UnserializableValue)
			}
			parts = append(parts, s)
		}
		p.addProblem("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		desc := ""
		if d.Exception != nil {
			desc = d.Exception.Description
		}
		p.addProblem(fmt.Sprintf("uncaught exception at %s:%d: %s %s", d.URL, d.LineNumber+1, d.Text, desc))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		// The browser asks every site for a favicon on its own; a missing
		// one is not an error of the page.
		if e.Level != cdplog.EntryLevelError || strings.HasSuffix(e.URL, "/favicon.ico") {
			return
		}
		p.addProblem(fmt.Sprintf("%s error: %s %s", e.Source, e.Text, e.URL))
	case *fetch.EventRequestPaused:
		go p.answer(ev.RequestID, ev.Request.URL)
	}
}

// answer lets a paused request through when it stays on the page's origin
// and answers it with an empty response otherwise.
func (p *Page) answer(id fetch.RequestID, url string) {
	if p.allowed(url) {
		_, _ = chromedp.Call(p.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
		return
	}
	p.mu.Lock()
	p.external = append(p.external, url)
	p.mu.Unlock()
	_, _ = chromedp.Call(p.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
		RequestID:       id,
		ResponseCode:    200,
		ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/plain"}},
	})
}

// allowed reports whether a request may reach the network.
func (p *Page) allowed(url string) bool {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return true
	}
	return url == p.origin || strings.HasPrefix(url, p.origin+"/")
}

func (p *Page) addProblem(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, strings.TrimSpace(s))
}

// Problems returns the console errors, uncaught exceptions and failed
// loads the page reported so far.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// External returns the requests to other origins that were answered with
// an empty response because of PageOptions.Origin.
func (p *Page) External() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.external...)
}

// Navigate loads url and waits for its load event. A URL that differs from
// the current one only in its fragment does not load a new document; open
// a new page for that.
func (p *Page) Navigate(ctx context.Context, url string) error {
	if _, err := run(ctx, p, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("loading %s: %w", url, err)
	}
	return nil
}

// Eval evaluates a JavaScript expression in the page, waits for it if it
// is a promise, and decodes its JSON value into out (which may be nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	raw, err := run(ctx, p, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("evaluating script: %w", err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decoding script result: %w", err)
		}
	}
	return nil
}

// EmulateMedia makes CSS media queries see the given media type ("print"
// or "screen"); "" restores the default.
func (p *Page) EmulateMedia(ctx context.Context, media string) error {
	if _, err := call(ctx, p, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media}); err != nil {
		return fmt.Errorf("emulating %q media: %w", media, err)
	}
	return nil
}

// Screenshot returns a PNG of the viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	png, err := run(ctx, p, chromedp.CaptureScreenshot())
	if err != nil {
		return nil, fmt.Errorf("taking screenshot: %w", err)
	}
	return png, nil
}

// PDFOptions configures PrintPDF. Sizes are in inches; zero values leave
// the page size to the document's CSS @page rule.
type PDFOptions struct {
	PaperWidth, PaperHeight float64
}

// PrintPDF prints the page as the browser's print preview would, with
// backgrounds and no header or footer, and returns the PDF.
func (p *Page) PrintPDF(ctx context.Context, opts PDFOptions) ([]byte, error) {
	params := page.PrintToPDFParams{
		PrintBackground:     new(true),
		DisplayHeaderFooter: new(false),
		MarginTop:           new(0.0),
		MarginBottom:        new(0.0),
		MarginLeft:          new(0.0),
		MarginRight:         new(0.0),
	}
	if opts.PaperWidth > 0 && opts.PaperHeight > 0 {
		params.PaperWidth, params.PaperHeight = opts.PaperWidth, opts.PaperHeight
	} else {
		params.PreferCSSPageSize = new(true)
	}
	res, err := call(ctx, p, page.PrintToPDF, params)
	if err != nil {
		return nil, fmt.Errorf("printing to PDF: %w", err)
	}
	return res.Data, nil
}

// Close closes the tab.
func (p *Page) Close(context.Context) error {
	p.cancel()
	return nil
}
