package render

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kubeworkshop/kubeworkshop/slides/chromium"
	"github.com/kubeworkshop/kubeworkshop/slides/deck"
	"github.com/kubeworkshop/kubeworkshop/slides/server"
)

// Viewport is the browser window size used for screenshots, in CSS pixels;
// the present theme's widescreen slide (1100x700) fits inside it.
var Viewport = image.Pt(1280, 800)

// printCSS replaces the present theme's print rules, which let a long slide
// run over two A4 pages, with a page of exactly one widescreen slide.
const printCSS = `
@page { size: 1100px 700px; margin: 0; }
@media print {
  html, body { margin: 0 !important; padding: 0 !important; background: white !important; }
  .slides > article {
    box-sizing: border-box; position: relative; overflow: hidden;
    width: 1100px; height: 700px; margin: 0; padding: 40px 60px;
    border: none; border-radius: 0;
    break-after: page; page-break-after: always; break-inside: avoid;
  }
  .slides > article:last-of-type { break-after: auto; page-break-after: auto; }
  .slide-area, #help { display: none !important; }
  .slides > article > h2 { margin-top: 260px !important; margin-bottom: 0 !important; }
  a:link:after, a:visited:after { font-size: 40%; }
}
`

// settle waits until the deck's script has laid out the slides, web fonts
// are ready and slide transitions have finished, then describes the deck.
const settle = `(async () => {
  await document.fonts.ready;
  await Promise.all(document.getAnimations().map(a => a.finished.catch(() => {})));
  const slides = [...document.querySelectorAll('section.slides > article')];
  const current = document.querySelector('section.slides > article.current');
  return {
    loaded: document.body.classList.contains('loaded'),
    slides: slides.length,
    current: current ? slides.indexOf(current) + 1 : 0,
    text: current ? current.innerText.trim().length : 0,
    firstCode: slides.findIndex(s => s.querySelector('pre')) + 1,
    diagrams: slides.flatMap((s, i) => s.querySelector('img[src$=".svg"]') ? [i + 1] : []),
    brokenImages: current ? [...current.querySelectorAll('img')]
      .filter(img => !img.complete || img.naturalWidth === 0).map(img => img.getAttribute('src')) : [],
    body: document.body.innerText.slice(0, 200),
  };
})()`

// overflow lists the slides whose content is cut off: taller than the
// slide, or a code block, table or image wider than its box or running past
// the slide's right margin (an image sized by its height, for example).
const overflow = `[...document.querySelectorAll('section.slides > article')].flatMap((a, i) => {
  const out = [];
  const title = (a.querySelector('h1, h2, h3') || {}).innerText || '';
  if (a.scrollHeight > a.clientHeight + 1) {
    out.push('slide ' + (i + 1) + ' "' + title + '": ' + (a.scrollHeight - a.clientHeight) + 'px too tall');
  }
  if (a.scrollWidth > a.clientWidth + 1) {
    out.push('slide ' + (i + 1) + ' "' + title + '": ' + (a.scrollWidth - a.clientWidth) + 'px too wide');
  }
  const right = a.getBoundingClientRect().right - parseFloat(getComputedStyle(a).paddingRight);
  a.querySelectorAll('pre, table, img').forEach(e => {
    const past = Math.max(e.scrollWidth - e.clientWidth, e.getBoundingClientRect().right - right);
    if (past > 1) {
      out.push('slide ' + (i + 1) + ' "' + title + '": a ' + e.tagName.toLowerCase() + ' is ' + Math.round(past) + 'px too wide');
    }
  });
  return out;
})`

// State describes a deck as the browser rendered it.
type State struct {
	// Loaded reports whether the present script initialised the deck.
	Loaded bool `json:"loaded"`
	// Slides is the number of slides in the page.
	Slides int `json:"slides"`
	// Current is the 1-based number of the slide on screen, 0 if none.
	Current int `json:"current"`
	// Text is the length of the visible text on the current slide.
	Text int `json:"text"`
	// FirstCode is the 1-based number of the first slide showing code, 0 if none.
	FirstCode int `json:"firstCode"`
	// Diagrams are the 1-based numbers of the slides showing an SVG diagram.
	Diagrams []int `json:"diagrams"`
	// BrokenImages are the images on the current slide that did not load.
	BrokenImages []string `json:"brokenImages"`
	// Body is the start of the page text, to explain a page that failed to render.
	Body string `json:"body"`
}

// View is one slide of a deck as the browser showed it.
type View struct {
	State
	// PNG is a screenshot of the viewport.
	PNG []byte
	// Problems lists console errors, exceptions and failed loads.
	Problems []string
	// External lists requests to other origins answered with an empty response.
	External []string
}

// newPage opens a tab of Viewport size that only reaches origin.
func newPage(ctx context.Context, b *chromium.Browser, origin string) (*chromium.Page, error) {
	return b.NewPage(ctx, chromium.PageOptions{Width: Viewport.X, Height: Viewport.Y, Origin: origin})
}

// Open loads slide number slide (1-based) of the deck at deckURL in a new
// tab and returns what the browser showed.
func Open(ctx context.Context, b *chromium.Browser, origin, deckURL string, slide int) (*View, error) {
	p, err := newPage(ctx, b, origin)
	if err != nil {
		return nil, err
	}
	defer p.Close(ctx)
	url := fmt.Sprintf("%s#%d", deckURL, slide)
	if err := p.Navigate(ctx, url); err != nil {
		return nil, err
	}
	v := &View{}
	if err := p.Eval(ctx, settle, &v.State); err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", url, err)
	}
	if v.PNG, err = p.Screenshot(ctx); err != nil {
		return nil, fmt.Errorf("screenshot of %s: %w", url, err)
	}
	v.Problems = p.Problems()
	v.External = p.External()
	return v, nil
}

// Blank reports whether a PNG screenshot shows next to nothing: fewer than
// one pixel in a thousand differs from the image's most common colour.
func Blank(pngData []byte) (bool, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return false, fmt.Errorf("decoding screenshot: %w", err)
	}
	counts := map[color.RGBA]int{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	total := bounds.Dx() * bounds.Dy()
	return (total-most)*1000 < total, nil
}

// PDF prints the deck at deckURL with one slide per page and returns the
// PDF and how many slides the page held.
func PDF(ctx context.Context, b *chromium.Browser, origin, deckURL string) ([]byte, int, error) {
	p, err := newPage(ctx, b, origin)
	if err != nil {
		return nil, 0, err
	}
	defer p.Close(ctx)
	if err := p.Navigate(ctx, deckURL); err != nil {
		return nil, 0, err
	}
	var st State
	if err := p.Eval(ctx, settle, &st); err != nil {
		return nil, 0, fmt.Errorf("inspecting %s: %w", deckURL, err)
	}
	if !st.Loaded || st.Slides == 0 {
		return nil, 0, fmt.Errorf("%s did not render as slides: %q", deckURL, st.Body)
	}
	addStyle := fmt.Sprintf(`(() => { const s = document.createElement('style'); s.textContent = %q; document.body.appendChild(s); })()`, printCSS)
	if err := p.Eval(ctx, addStyle, nil); err != nil {
		return nil, 0, fmt.Errorf("styling %s for print: %w", deckURL, err)
	}
	// Lay the deck out as it will be printed and look for slides whose
	// content does not fit: on paper, as on screen, it would be cut off.
	if err := p.EmulateMedia(ctx, "print"); err != nil {
		return nil, 0, err
	}
	var overflows []string
	if err := p.Eval(ctx, overflow, &overflows); err != nil {
		return nil, 0, fmt.Errorf("measuring %s: %w", deckURL, err)
	}
	if len(overflows) > 0 {
		return nil, 0, fmt.Errorf("%s: content does not fit:\n  %s", deckURL, strings.Join(overflows, "\n  "))
	}
	pdf, err := p.PrintPDF(ctx, chromium.PDFOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("printing %s: %w", deckURL, err)
	}
	if probs := p.Problems(); len(probs) > 0 {
		return nil, 0, fmt.Errorf("%s reported errors: %v", deckURL, probs)
	}
	return pdf, st.Slides, nil
}

// pageObject matches a page object (but not the /Pages tree node) in a PDF
// as Chromium writes it.
var pageObject = regexp.MustCompile(`/Type\s*/Page\b`)

// CountPages returns the number of pages in a PDF written by Chromium.
func CountPages(pdf []byte) int {
	return len(pageObject.FindAll(pdf, -1))
}

// Result is one exported deck.
type Result struct {
	// Deck is the deck's path relative to the repository root.
	Deck string
	// Path is where the PDF was written.
	Path string
	// Pages is the number of pages in the PDF, one per slide.
	Pages int
}

// ExportPDFs serves the decks under root, prints each one to
// outDir/NN-name.pdf with headless Chromium and reports progress to out.
// It fails when a deck's PDF does not have exactly one page per slide.
func ExportPDFs(ctx context.Context, root, outDir string, out io.Writer) ([]Result, error) {
	decks, err := deck.Find(root)
	if err != nil {
		return nil, err
	}
	bin, err := chromium.Find()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", outDir, err)
	}
	srv, err := server.Start(ctx, server.Options{Root: root, Addr: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	b, err := chromium.Launch(ctx, bin)
	if err != nil {
		return nil, err
	}
	defer b.Close()

	var results []Result
	for _, d := range decks {
		doc, err := deck.Parse(root, d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		pdf, slides, err := PDF(ctx, b, srv.URL(), srv.DeckURL(d))
		if err != nil {
			return nil, err
		}
		pages := CountPages(pdf)
		if want := deck.PageCount(doc); slides != want {
			return nil, fmt.Errorf("%s: the browser rendered %d slides, the deck has %d", d, slides, want)
		}
		if pages != slides {
			return nil, fmt.Errorf("%s: the PDF has %d pages for %d slides: a slide overflows its page", d, pages, slides)
		}
		path := filepath.Join(outDir, deck.Name(d)+".pdf")
		if err := os.WriteFile(path, pdf, 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		fmt.Fprintf(out, "%s: %d pages -> %s\n", d, pages, path)
		results = append(results, Result{Deck: d, Path: path, Pages: pages})
	}
	return results, nil
}
