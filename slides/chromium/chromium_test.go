package chromium

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// launch starts a browser for a test, or skips the test when there is none.
func launch(t *testing.T) (*Browser, context.Context) {
	t.Helper()
	bin, err := Find()
	if errors.Is(err, ErrNotFound) {
		t.Skipf("browser test skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b, err := Launch(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b, ctx
}

func TestPage(t *testing.T) {
	b, ctx := launch(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body style="background:#fff"><h1 style="font-size:80px">Hello</h1>
<link rel="stylesheet" href="https://fonts.example.invalid/font.css"></body></html>`))
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><script>console.error("boom"); undefinedFunction();</script>
<img src="/missing.png"></body></html>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name         string
		path         string
		wantProblems []string // substrings, one per expected problem
		wantExternal int
	}{
		{name: "clean page, third-party request answered locally", path: "/ok", wantExternal: 1},
		{name: "console error, exception and 404", path: "/broken", wantProblems: []string{
			"console.error: boom", "undefinedFunction is not defined", "404",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := b.NewPage(ctx, PageOptions{Width: 640, Height: 480, Origin: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			if err := p.Navigate(ctx, srv.URL+tt.path); err != nil {
				t.Fatal(err)
			}
			// Wait for the page to settle: the events above arrive before
			// this round trip returns.
			var title string
			if err := p.Eval(ctx, `document.readyState`, &title); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(p.Problems(), "\n")
			for _, w := range tt.wantProblems {
				if !strings.Contains(got, w) {
					t.Errorf("problems %q do not mention %q", got, w)
				}
			}
			if len(tt.wantProblems) == 0 && got != "" {
				t.Errorf("unexpected problems: %s", got)
			}
			if ext := p.External(); len(ext) != tt.wantExternal {
				t.Errorf("External() = %v, want %d requests", ext, tt.wantExternal)
			}
			shot, err := p.Screenshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
				t.Errorf("screenshot is %v, want 640x480", b)
			}
			pdf, err := p.PrintPDF(ctx, PDFOptions{PaperWidth: 8, PaperHeight: 6})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Errorf("PrintPDF returned %q..., want a PDF", pdf[:min(len(pdf), 8)])
			}
		})
	}
}

func TestFindHonoursEnv(t *testing.T) {
	t.Setenv(EnvBinary, "/nonexistent/chromium")
	if _, err := Find(); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find() error = %v, want ErrNotFound", err)
	}
}
