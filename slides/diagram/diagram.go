package diagram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"oss.terrastruct.com/d2/d2graph"
	"oss.terrastruct.com/d2/d2layouts/d2dagrelayout"
	"oss.terrastruct.com/d2/d2layouts/d2elklayout"
	"oss.terrastruct.com/d2/d2lib"
	"oss.terrastruct.com/d2/d2renderers/d2svg"
	"oss.terrastruct.com/d2/d2themes/d2themescatalog"
	d2log "oss.terrastruct.com/d2/lib/log"
	"oss.terrastruct.com/d2/lib/textmeasure"
)

// Dir is the directory, relative to the repository root, holding the
// diagrams' sources and renders.
const Dir = "slides/diagrams"

// SourceExt and RenderExt are the extensions of a source and its render.
const (
	SourceExt = ".d2"
	RenderExt = ".svg"
)

// Render compiles a D2 source, lays it out (dagre, or elk when the source's
// d2-config asks for it) and returns the SVG.
// name is used in error messages only.
func Render(ctx context.Context, name string, src []byte) ([]byte, error) {
	ruler, err := textmeasure.NewRuler()
	if err != nil {
		return nil, fmt.Errorf("loading d2's fonts: %w", err)
	}
	// d2 logs through a logger in the context; keep its chatter out of
	// ours and report only the errors it returns.
	ctx = d2log.With(ctx, slog.New(slog.DiscardHandler))
	pad := int64(10)
	opts := &d2svg.RenderOpts{
		Pad:         &pad,
		ThemeID:     &d2themescatalog.NeutralDefault.ID,
		OmitVersion: new(true),
	}
	diagram, _, err := d2lib.Compile(ctx, string(src), &d2lib.CompileOptions{
		Ruler:          ruler,
		InputPath:      name,
		LayoutResolver: layout,
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	svg, err := d2svg.Render(diagram, opts)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", name, err)
	}
	return svg, nil
}

// layout returns the layout engine a source asks for with
// vars: {d2-config: {layout-engine: ...}}; dagre unless it says elk.
func layout(engine string) (d2graph.LayoutGraph, error) {
	switch engine {
	case "", "dagre":
		return d2dagrelayout.DefaultLayout, nil
	case "elk":
		return d2elklayout.DefaultLayout, nil
	}
	return nil, fmt.Errorf("layout engine %q is not built in; use dagre or elk", engine)
}

// Sources returns the diagram sources under root/Dir as slash paths
// relative to root, sorted.
func Sources(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(Dir), "*"+SourceExt))
	if err != nil {
		return nil, fmt.Errorf("listing diagrams: %w", err)
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, Dir+"/"+filepath.Base(m))
	}
	return out, nil // Glob sorts
}

// RenderPath returns the path of the render of a source path.
func RenderPath(source string) string {
	return strings.TrimSuffix(source, SourceExt) + RenderExt
}

// Problem is a render that is missing or does not match its source.
type Problem struct {
	// Source is the diagram's source, a slash path relative to the root.
	Source string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Check renders every source under root and compares it with the render
// checked in beside it. The error is non-nil only when the sources could
// not be listed or read; a source that does not compile is a Problem.
func Check(ctx context.Context, root string) ([]Problem, error) {
	sources, err := Sources(root)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, s := range sources {
		want, err := renderFile(ctx, root, s)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			problems = append(problems, Problem{s, err.Error()})
			continue
		}
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(RenderPath(s))))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, Problem{s, fmt.Sprintf("%s is missing; run `go tool mage slides:diagrams`", RenderPath(s))})
		case err != nil:
			return nil, fmt.Errorf("reading render: %w", err)
		case !bytes.Equal(got, want):
			problems = append(problems, Problem{s, fmt.Sprintf("%s is stale: it does not match its source; run `go tool mage slides:diagrams`", RenderPath(s))})
		}
	}
	return problems, nil
}

// Generate renders every source under root and writes the renders whose
// content changed, returning the paths it wrote.
func Generate(ctx context.Context, root string) ([]string, error) {
	sources, err := Sources(root)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, s := range sources {
		svg, err := renderFile(ctx, root, s)
		if err != nil {
			return written, err
		}
		out := filepath.Join(root, filepath.FromSlash(RenderPath(s)))
		if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, svg) {
			continue
		}
		if err := os.WriteFile(out, svg, 0o644); err != nil {
			return written, fmt.Errorf("writing render: %w", err)
		}
		written = append(written, RenderPath(s))
	}
	return written, nil
}

// renderFile reads and renders one source.
func renderFile(ctx context.Context, root, source string) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(source)))
	if err != nil {
		return nil, fmt.Errorf("reading diagram source: %w", err)
	}
	return Render(ctx, source, src)
}
