package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/repo"
	"github.com/kubeworkshop/kubeworkshop/slides/chromium"
	"github.com/kubeworkshop/kubeworkshop/slides/deck"
	"github.com/kubeworkshop/kubeworkshop/slides/server"
)

// ScreenshotDir is where the browser test leaves its screenshots, relative
// to the repository root.
const ScreenshotDir = "_artifacts/slides/screenshots"

// root returns the repository root.
func root(t *testing.T) string {
	t.Helper()
	r, err := repo.Root("")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// browserEnv starts a present server over root and a headless Chromium,
// or skips the test when Chromium is not installed.
func browserEnv(t *testing.T, root string) (context.Context, *server.Server, *chromium.Browser) {
	t.Helper()
	bin, err := chromium.Find()
	if errors.Is(err, chromium.ErrNotFound) {
		t.Skipf("SKIPPED the slide browser test: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	srv, err := server.Start(ctx, server.Options{Root: root, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	b, err := chromium.Launch(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return ctx, srv, b
}

// viewProblems lists what is wrong with a rendered slide.
func viewProblems(v *View, wantSlides, wantCurrent int) []string {
	var out []string
	if !v.Loaded || v.Slides == 0 {
		return append(v.Problems, fmt.Sprintf("the page did not render as slides; it shows %q", v.Body))
	}
	if v.Slides != wantSlides {
		out = append(out, fmt.Sprintf("the page has %d slides, want %d", v.Slides, wantSlides))
	}
	if v.Current != wantCurrent {
		out = append(out, fmt.Sprintf("slide %d is on screen, want %d", v.Current, wantCurrent))
	}
	if v.Text == 0 {
		out = append(out, "the slide on screen has no text")
	}
	for _, img := range v.BrokenImages {
		out = append(out, fmt.Sprintf("image %s did not load", img))
	}
	if blank, err := Blank(v.PNG); err != nil {
		out = append(out, err.Error())
	} else if blank {
		out = append(out, "the screenshot is blank")
	}
	return append(out, v.Problems...)
}

// TestDecksInBrowser opens every deck in headless Chromium, as a presenter
// would, screenshots its first slide, its first code slide and every slide
// with a diagram, and fails on a console error, an uncaught exception, a
// failed load, an image that did not load or a blank page.
func TestDecksInBrowser(t *testing.T) {
	repoRoot := root(t)
	ctx, srv, b := browserEnv(t, repoRoot)
	decks, err := deck.Find(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(repoRoot, filepath.FromSlash(ScreenshotDir))
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range decks {
		t.Run(deck.Name(d), func(t *testing.T) {
			doc, err := deck.Parse(repoRoot, d)
			if err != nil {
				t.Fatal(err)
			}
			want := deck.PageCount(doc)
			first, err := Open(ctx, b, srv.URL(), srv.DeckURL(d), 1)
			if err != nil {
				t.Fatal(err)
			}
			type shot struct {
				label string
				slide int
				view  *View
			}
			shots := []shot{{"first", 1, first}}
			var more []shot
			if first.FirstCode == 0 {
				t.Errorf("%s has no slide with code", d)
			} else {
				more = append(more, shot{label: "code", slide: first.FirstCode})
			}
			for _, n := range first.Diagrams {
				more = append(more, shot{label: fmt.Sprintf("diagram-%d", n), slide: n})
			}
			for _, s := range more {
				if s.view, err = Open(ctx, b, srv.URL(), srv.DeckURL(d), s.slide); err != nil {
					t.Fatal(err)
				}
				shots = append(shots, s)
			}
			for _, s := range shots {
				path := filepath.Join(outDir, fmt.Sprintf("%s-%s.png", deck.Name(d), s.label))
				if err := os.WriteFile(path, s.view.PNG, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("slide %d: %s", s.slide, path)
				if probs := viewProblems(s.view, want, s.slide); len(probs) > 0 {
					t.Errorf("%s#%d:\n  %s", srv.DeckURL(d), s.slide, strings.Join(probs, "\n  "))
				}
			}
		})
	}
}

// TestBrowserCatchesBrokenDecks proves the checks above fail where they
// should: on a deck whose image is missing and on a deck that does not exist.
func TestBrowserCatchesBrokenDecks(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "slides"), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := "# Broken\n\n## Agenda\n\nText\n\n.image missing.png\n\n: Notes.\n"
	if err := os.WriteFile(filepath.Join(root, "slides", "01-broken.slide"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, srv, b := browserEnv(t, root)
	tests := []struct {
		name string
		deck string
		want string
	}{
		{"missing image", "slides/01-broken.slide", "Failed to load resource"},
		{"missing deck", "slides/02-missing.slide", "did not render as slides"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Open(ctx, b, srv.URL(), srv.DeckURL(tt.deck), 2)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(viewProblems(v, 3, 2), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems %q do not mention %q", got, tt.want)
			}
		})
	}
}

// TestExportPDFs prints every deck and checks each PDF has one page per slide.
func TestExportPDFs(t *testing.T) {
	if _, err := chromium.Find(); errors.Is(err, chromium.ErrNotFound) {
		t.Skipf("SKIPPED the slide PDF test: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	repoRoot := root(t)
	var log strings.Builder
	results, err := ExportPDFs(ctx, repoRoot, t.TempDir(), &log)
	if err != nil {
		t.Fatal(err)
	}
	decks, err := deck.Find(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(decks) {
		t.Fatalf("exported %d PDFs for %d decks", len(results), len(decks))
	}
	for _, r := range results {
		data, err := os.ReadFile(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		if got := CountPages(data); got != r.Pages || got < 3 {
			t.Errorf("%s: %d pages on disk, reported %d", r.Path, got, r.Pages)
		}
	}
	t.Log(log.String())
}

// TestPDFCatchesOverflow proves that a slide whose content would be cut off
// fails the export: a code line too wide, a list too long, a table too wide
// and a picture that runs past the slide's edge.
func TestPDFCatchesOverflow(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "slides"), 0o755); err != nil {
		t.Fatal(err)
	}
	wide := "package wide\n\nvar x = \"" + strings.Repeat("a very long line ", 12) + "\"\n"
	if err := os.WriteFile(filepath.Join(root, "slides", "wide.go"), []byte(wide), 0o644); err != nil {
		t.Fatal(err)
	}
	var long strings.Builder
	for i := range 30 {
		fmt.Fprintf(&long, "- item %d\n", i)
	}
	table := "<table><tr><td>" + strings.Repeat("x", 300) + "</td></tr></table>\n"
	// A wide picture sized by its height runs past the slide's edge.
	svg := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2000 200"><rect width="2000" height="200" fill="blue"/></svg>`
	if err := os.WriteFile(filepath.Join(root, "slides", "wide.svg"), []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "# Overflow\n\n## Agenda\n\n.code wide.go\n\n: Notes.\n\n## Long\n\n" + long.String() +
		"\n: Notes.\n\n## Wide\n\n" + table + "\n: Notes.\n\n## Picture\n\n.image wide.svg 200 _\n\n: Notes.\n"
	if err := os.WriteFile(filepath.Join(root, "slides", "01-overflow.slide"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, srv, b := browserEnv(t, root)
	_, _, err := PDF(ctx, b, srv.URL(), srv.DeckURL("slides/01-overflow.slide"))
	if err == nil {
		t.Fatal("PDF succeeded, want an error about content that does not fit")
	}
	for _, want := range []string{`slide 2 "Agenda": a pre is`, `slide 3 "Long":`, "px too tall", `slide 4 "Wide":`, "px too wide", `slide 5 "Picture": a img is`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
