//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/magefile/mage/mg"

	"github.com/kubeworkshop/kubeworkshop/harness/repo"
	"github.com/kubeworkshop/kubeworkshop/slides/chromium"
	"github.com/kubeworkshop/kubeworkshop/slides/deck"
	"github.com/kubeworkshop/kubeworkshop/slides/diagram"
	"github.com/kubeworkshop/kubeworkshop/slides/render"
	"github.com/kubeworkshop/kubeworkshop/slides/server"
)

// Slides groups the targets for the workshop's present decks in slides/.
type Slides mg.Namespace

// Serve serves the decks with speaker notes on 127.0.0.1:3999 (set SLIDES_ADDR to change) until Ctrl-C.
func (Slides) Serve(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	return server.Serve(ctx, root, os.Stdout)
}

// Check parses every deck and fails on a missing file or OMIT marker, an empty slide, a broken link, a stale diagram or a missing recorded output.
func (Slides) Check() error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	decks, err := deck.Find(root)
	if err != nil {
		return err
	}
	problems, err := deck.Check(root)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("slides:check found %d problems:\n%w", len(problems), problems)
	}
	fmt.Printf("slides:check: %d decks OK\n", len(decks))
	return nil
}

// PDF writes one PDF per deck, one page per slide, to _artifacts/slides/ with headless Chromium.
func (Slides) PDF(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	_, err = render.ExportPDFs(ctx, root, filepath.Join(root, "_artifacts", "slides"), os.Stdout)
	return err
}

// slidesBrowserSkipNote returns why the slide browser test (a go test in
// slides/render) will be skipped, or "" when Chromium is installed. The
// test target prints it, since go test only reports skips with -v.
func slidesBrowserSkipNote() string {
	if _, err := chromium.Find(); err != nil {
		return fmt.Sprintf("slides: the browser test is SKIPPED: %v", err)
	}
	return ""
}

// Diagrams renders every slides/diagrams/*.d2 to the SVG beside it with the d2 Go library; slides:check fails on a stale one.
func (Slides) Diagrams(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	written, err := diagram.Generate(ctx, root)
	for _, w := range written {
		fmt.Println("wrote", w)
	}
	return err
}
