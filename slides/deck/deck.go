package deck

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/present"
)

// Dir is the directory, relative to the repository root, that holds the decks.
const Dir = "slides"

// Ext is the file extension of a deck.
const Ext = ".slide"

// Find returns the decks under root/slides as slash-separated paths relative
// to root (for example "slides/00-kubernetes-api.slide"), sorted by name.
func Find(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, Dir, "*"+Ext))
	if err != nil {
		return nil, fmt.Errorf("listing decks in %s: %w", filepath.Join(root, Dir), err)
	}
	decks := make([]string, 0, len(matches))
	for _, m := range matches {
		rel, err := filepath.Rel(root, m)
		if err != nil {
			return nil, fmt.Errorf("locating deck %s: %w", m, err)
		}
		decks = append(decks, filepath.ToSlash(rel))
	}
	slices.Sort(decks)
	if len(decks) == 0 {
		return nil, fmt.Errorf("no *%s files in %s: %w", Ext, filepath.Join(root, Dir), fs.ErrNotExist)
	}
	return decks, nil
}

// Parse parses the deck at root/deck with the present package, resolving
// .code and other commands relative to the deck's directory as the present
// server does.
func Parse(root, deck string) (*present.Doc, error) {
	name := filepath.Join(root, filepath.FromSlash(deck))
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading deck: %w", err)
	}
	return parseSource(name, src)
}

func parseSource(name string, src []byte) (*present.Doc, error) {
	ctx := present.Context{ReadFile: os.ReadFile}
	doc, err := ctx.Parse(bytes.NewReader(src), name, 0)
	if err != nil {
		return nil, fmt.Errorf("parsing deck: %w", err)
	}
	return doc, nil
}

// PageCount returns how many slides the present server renders for doc:
// the title slide, one per section and the closing slide that the slide
// template always appends.
func PageCount(doc *present.Doc) int {
	return len(doc.Sections) + 2
}

// Name returns the base name of a deck path without its extension,
// for example "00-kubernetes-api" for "slides/00-kubernetes-api.slide".
func Name(deck string) string {
	return strings.TrimSuffix(path.Base(deck), Ext)
}
