package chromium

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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
	b         *Browser
	targetID  string
	sessionID string
	origin    string

	mu       sync.Mutex
	loaded   chan struct{} // closed by the next load event
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
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.conn.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, fmt.Errorf("opening tab: %w", err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.conn.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, fmt.Errorf("attaching to tab: %w", err)
	}
	p := &Page{b: b, targetID: target.TargetID, sessionID: attached.SessionID, origin: strings.TrimSuffix(opts.Origin, "/")}
	b.conn.handle(p.sessionID, p.onEvent)

	setup := []struct {
		method string
		params any
	}{
		{"Page.enable", nil},
		{"Runtime.enable", nil},
		{"Log.enable", nil},
		{"Emulation.setDeviceMetricsOverride", map[string]any{
			"width": opts.Width, "height": opts.Height, "deviceScaleFactor": 1, "mobile": false,
		}},
	}
	if p.origin != "" {
		setup = append(setup, struct {
			method string
			params any
		}{"Fetch.enable", map[string]any{"patterns": []map[string]any{{"urlPattern": "*"}}}})
	}
	for _, s := range setup {
		if err := b.conn.call(ctx, p.sessionID, s.method, s.params, nil); err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("setting up tab: %w", err)
		}
	}
	return p, nil
}

// onEvent records what the page reports. It runs on the connection's
// reader goroutine.
func (p *Page) onEvent(method string, params json.RawMessage) {
	switch method {
	case "Page.loadEventFired":
		p.mu.Lock()
		if p.loaded != nil {
			close(p.loaded)
			p.loaded = nil
		}
		p.mu.Unlock()
	case "Runtime.consoleAPICalled":
		var ev struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(params, &ev) == nil && (ev.Type == "error" || ev.Type == "assert") {
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, fmt.Sprint(a.Value))
				}
			}
			p.addProblem("console." + ev.Type + ": " + strings.Join(parts, " "))
		}
	case "Runtime.exceptionThrown":
		var ev struct {
			Details struct {
				Text      string `json:"text"`
				URL       string `json:"url"`
				Line      int    `json:"lineNumber"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		if json.Unmarshal(params, &ev) == nil {
			d := ev.Details
			p.addProblem(fmt.Sprintf("uncaught exception at %s:%d: %s %s", d.URL, d.Line+1, d.Text, d.Exception.Description))
		}
	case "Log.entryAdded":
		var ev struct {
			Entry struct {
				Source string `json:"source"`
				Level  string `json:"level"`
				Text   string `json:"text"`
				URL    string `json:"url"`
			} `json:"entry"`
		}
		if json.Unmarshal(params, &ev) == nil && ev.Entry.Level == "error" {
			e := ev.Entry
			// The browser asks every site for a favicon on its own; a
			// missing one is not an error of the page.
			if strings.HasSuffix(e.URL, "/favicon.ico") {
				return
			}
			p.addProblem(fmt.Sprintf("%s error: %s %s", e.Source, e.Text, e.URL))
		}
	case "Fetch.requestPaused":
		var ev struct {
			RequestID string `json:"requestId"`
			Request   struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		if json.Unmarshal(params, &ev) != nil {
			return
		}
		if p.allowed(ev.Request.URL) {
			_, _ = p.b.conn.send(p.sessionID, "Fetch.continueRequest", map[string]any{"requestId": ev.RequestID}, nil)
			return
		}
		p.mu.Lock()
		p.external = append(p.external, ev.Request.URL)
		p.mu.Unlock()
		_, _ = p.b.conn.send(p.sessionID, "Fetch.fulfillRequest", map[string]any{
			"requestId":       ev.RequestID,
			"responseCode":    200,
			"responseHeaders": []map[string]string{{"name": "Content-Type", "value": "text/plain"}},
			"body":            "",
		}, nil)
	}
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
	loaded := make(chan struct{})
	p.mu.Lock()
	p.loaded = loaded
	p.mu.Unlock()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.conn.call(ctx, p.sessionID, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return fmt.Errorf("loading %s: %w", url, err)
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("loading %s: %s", url, nav.ErrorText)
	}
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s to load: %w", url, ctx.Err())
	}
}

// Eval evaluates a JavaScript expression in the page, waits for it if it
// is a promise, and decodes its JSON value into out (which may be nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.b.conn.call(ctx, p.sessionID, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	}, &res)
	if err != nil {
		return err
	}
	if res.Exception != nil {
		return fmt.Errorf("evaluating script: %s %s", res.Exception.Text, res.Exception.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			return fmt.Errorf("decoding script result: %w", err)
		}
	}
	return nil
}

// EmulateMedia makes CSS media queries see the given media type ("print"
// or "screen"); "" restores the default.
func (p *Page) EmulateMedia(ctx context.Context, media string) error {
	if err := p.b.conn.call(ctx, p.sessionID, "Emulation.setEmulatedMedia", map[string]any{"media": media}, nil); err != nil {
		return fmt.Errorf("emulating %q media: %w", media, err)
	}
	return nil
}

// Screenshot returns a PNG of the viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := p.b.conn.call(ctx, p.sessionID, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return nil, fmt.Errorf("taking screenshot: %w", err)
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return nil, fmt.Errorf("decoding screenshot: %w", err)
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
	params := map[string]any{
		"printBackground":     true,
		"displayHeaderFooter": false,
		"marginTop":           0, "marginBottom": 0, "marginLeft": 0, "marginRight": 0,
	}
	if opts.PaperWidth > 0 && opts.PaperHeight > 0 {
		params["paperWidth"] = opts.PaperWidth
		params["paperHeight"] = opts.PaperHeight
	} else {
		params["preferCSSPageSize"] = true
	}
	var res struct {
		Data string `json:"data"`
	}
	if err := p.b.conn.call(ctx, p.sessionID, "Page.printToPDF", params, &res); err != nil {
		return nil, fmt.Errorf("printing to PDF: %w", err)
	}
	pdf, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return nil, fmt.Errorf("decoding PDF: %w", err)
	}
	return pdf, nil
}

// Close closes the tab.
func (p *Page) Close(ctx context.Context) error {
	p.b.conn.handle(p.sessionID, nil)
	if err := p.b.conn.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.targetID}, nil); err != nil {
		return fmt.Errorf("closing tab: %w", err)
	}
	return nil
}
