package deck

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/tools/present"

	"github.com/kubeworkshop/kubeworkshop/slides/diagram"
)

// MaxSnippetLines is the longest code snippet, in displayed lines, that fits
// on a slide in the present theme's widescreen layout under a slide title.
const MaxSnippetLines = 20

// Problem is one thing wrong with a deck.
type Problem struct {
	// Deck is the deck's slash-separated path relative to the repository root.
	Deck string
	// Line is the 1-based line in the deck, or 0 when the problem concerns the whole deck.
	Line int
	// Msg says what is wrong.
	Msg string
}

// String formats the problem as deck:line: message.
func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.Deck, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", p.Deck, p.Line, p.Msg)
}

// Problems is the result of checking one or more decks.
type Problems []Problem

// Error lists every problem, one per line, so that Problems can be returned
// as an error.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are no problems.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Check checks every deck under root/slides and returns the problems found,
// sorted by deck and line. The error is non-nil only when the decks could
// not be listed or read at all.
func Check(root string) (Problems, error) {
	decks, err := Find(root)
	if err != nil {
		return nil, err
	}
	targets, err := mageTargets(filepath.Join(root, "magefiles"))
	if err != nil {
		return nil, err
	}
	var all Problems
	for _, d := range decks {
		ps, err := checkDeck(root, d, targets)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	stale, err := diagram.Check(context.Background(), root)
	if err != nil {
		return nil, err
	}
	for _, p := range stale {
		all = append(all, Problem{Deck: p.Source, Msg: p.Msg})
	}
	return all, nil
}

// CheckDeck checks the single deck root/deck, where deck is a slash-separated
// path relative to root.
func CheckDeck(root, deck string) (Problems, error) {
	targets, err := mageTargets(filepath.Join(root, "magefiles"))
	if err != nil {
		return nil, err
	}
	return checkDeck(root, deck, targets)
}

var (
	// markerAddr is the only address allowed for code from outside slides/.
	markerAddr = regexp.MustCompile(`^/(START ([\w-]+) OMIT)/,/(END ([\w-]+) OMIT)/$`)
	// highlight is an optional trailing highlight word on a .code line.
	highlight = regexp.MustCompile(`\s+HL\w*$`)
	// mdLink matches a Markdown link or image target.
	mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^()\s]+)(?:\s+"[^"]*")?\)`)
	// codeSpan matches inline code, whose content is not Markdown.
	codeSpan = regexp.MustCompile("`[^`]*`")
	// mageCall matches a mage target invocation such as "go tool mage demo:podLister".
	mageCall = regexp.MustCompile(`\bgo tool mage\s+([A-Za-z]\w*(?::[A-Za-z]\w*)?)`)
	// scheme matches an absolute URL.
	scheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// checker holds the state of checking one deck.
type checker struct {
	root     string
	deck     string // slash path relative to root
	dir      string // directory of the deck on disk
	targets  map[string]bool
	problems Problems

	// scripts maps each script shown on the current slide to its line;
	// outputs holds the recorded outputs the slide shows.
	scripts map[string]int
	outputs map[string]bool
	sums    map[string]string // SumsFile, read when first needed
}

// endSlide checks that every script the slide showed has its recorded
// output on the same slide, recorded from the script as it is now, and
// starts the next slide.
func (c *checker) endSlide() {
	for script, line := range c.scripts {
		out := OutputFor(script)
		if !c.outputs[out] {
			c.addf(line, "%s is shown without its output: add .code %s to the slide", script, c.relTo(out))
			continue
		}
		if msg := c.staleOutput(script); msg != "" {
			c.addf(line, "%s", msg)
		}
	}
	c.scripts, c.outputs = map[string]int{}, map[string]bool{}
}

// staleOutput says why the recorded output of script no longer matches
// the script, or returns "" when it does (or when it is missing, which
// checkCode reports).
func (c *checker) staleOutput(script string) string {
	if _, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(OutputFor(script)))); err != nil {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(script)))
	if err != nil {
		return "" // checkCode reports the missing script
	}
	if c.sums == nil {
		if c.sums, err = readSums(c.root); err != nil {
			return err.Error()
		}
	}
	if c.sums[path.Base(script)] != ScriptSum(data) {
		return fmt.Sprintf("recorded output %s is stale: %s changed since it was recorded; %s", OutputFor(script), script, rerecord)
	}
	return ""
}

// relTo returns a root-relative slash path as the deck would name it.
func (c *checker) relTo(p string) string {
	rel, err := filepath.Rel(c.dir, filepath.Join(c.root, filepath.FromSlash(p)))
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}

func (c *checker) addf(line int, format string, args ...any) {
	c.problems = append(c.problems, Problem{Deck: c.deck, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// heading records a top-level slide heading and the line it is on.
type heading struct {
	line  int
	title string
}

func checkDeck(root, deck string, targets map[string]bool) (Problems, error) {
	name := filepath.Join(root, filepath.FromSlash(deck))
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading deck %s: %w", deck, err)
	}
	c := &checker{root: root, deck: deck, dir: filepath.Dir(name), targets: targets,
		scripts: map[string]int{}, outputs: map[string]bool{}}
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	headings := c.scanLines(lines)
	c.endSlide()

	scanClean := len(c.problems) == 0
	doc, err := parseSource(name, src)
	if err != nil {
		// The scan above reports missing files and markers with more context
		// than present does, and present stops at the first of them; only
		// report present's own error when the scan found nothing.
		if scanClean {
			c.addf(0, "%s", strings.ReplaceAll(err.Error(), name, deck))
		}
	} else {
		c.checkSlides(doc, headings, lines)
	}
	slices.SortStableFunc(c.problems, func(a, b Problem) int { return a.Line - b.Line })
	return c.problems, nil
}

// scanLines checks the commands and links on every line and returns the
// top-level slide headings.
func (c *checker) scanLines(lines []string) []heading {
	var headings []heading
	fenced := false
	afterText := false // the previous non-comment line was Markdown text
	for i, text := range lines {
		n := i + 1
		if strings.HasPrefix(text, "```") {
			fenced = !fenced
			afterText = true
			continue
		}
		if fenced {
			// present ends a Markdown block at these lines even inside a
			// fenced code block, which breaks the block in two.
			if strings.HasPrefix(text, ".") || strings.HasPrefix(text, "#") || strings.HasPrefix(text, ": ") {
				c.addf(n, "present cuts the fenced code block at %q; show code with .code instead", text)
			}
			continue
		}
		if strings.HasPrefix(text, "//") {
			continue // a present comment
		}
		// present's Markdown mode skips a command or speaker note that
		// directly follows a text line, so require a blank line between.
		isCmd := strings.HasPrefix(text, ".") || strings.HasPrefix(text, ": ") || text == ":"
		if isCmd && afterText {
			c.addf(n, "present drops %q because it directly follows text; add a blank line before it", text)
		}
		afterText = strings.TrimSpace(text) != "" && !isCmd && !strings.HasPrefix(text, "#")
		switch {
		case strings.HasPrefix(text, "## "):
			c.endSlide()
			headings = append(headings, heading{line: n, title: strings.TrimSpace(text[3:])})
		case strings.HasPrefix(text, ".code ") || strings.HasPrefix(text, ".play "):
			c.checkCode(n, text)
		case strings.HasPrefix(text, ".link "):
			if f := strings.Fields(text); len(f) >= 2 {
				c.checkTarget(n, f[1], "link")
			}
		case strings.HasPrefix(text, ".image "), strings.HasPrefix(text, ".background "),
			strings.HasPrefix(text, ".html "), strings.HasPrefix(text, ".iframe "):
			if f := strings.Fields(text); len(f) >= 2 {
				c.checkTarget(n, f[1], strings.TrimPrefix(f[0], "."))
			}
		default:
			plain := codeSpan.ReplaceAllString(text, "")
			for _, m := range mdLink.FindAllStringSubmatch(plain, -1) {
				c.checkTarget(n, m[1], "link")
			}
		}
		for _, m := range mageCall.FindAllStringSubmatch(text, -1) {
			c.checkMageTarget(n, m[1])
		}
	}
	return headings
}

// checkCode checks a .code or .play line: the file exists and, for code
// outside slides/, the OMIT marker pair exists and selects a short snippet.
func (c *checker) checkCode(line int, text string) {
	fields := strings.Fields(highlight.ReplaceAllString(strings.TrimSpace(text), ""))
	fields = fields[1:]
	for len(fields) > 0 && strings.HasPrefix(fields[0], "-") {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		c.addf(line, "%s without a file name", strings.Fields(text)[0])
		return
	}
	file := fields[0]
	addr := strings.Join(fields[1:], " ")
	abs, rel, ok := c.resolve(line, file)
	if !ok {
		return
	}
	if path.Dir(rel) == ScriptsDir && strings.HasSuffix(rel, ".sh") {
		c.scripts[rel] = line
	}
	if path.Dir(rel) == OutputDir {
		c.outputs[rel] = true
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && path.Dir(rel) == OutputDir {
			c.addf(line, "recorded output %s is missing; %s", rel, rerecord)
		} else if errors.Is(err, fs.ErrNotExist) {
			c.addf(line, "missing file %s", rel)
		} else {
			c.addf(line, "reading %s: %v", rel, err)
		}
		return
	}
	inSlides := rel == Dir || strings.HasPrefix(rel, Dir+"/")
	m := markerAddr.FindStringSubmatch(addr)
	if m == nil {
		if !inSlides {
			c.addf(line, "code from %s must be selected with /START name OMIT/,/END name OMIT/, got %q", rel, addr)
		}
		return
	}
	start, startName, end, endName := m[1], m[2], m[3], m[4]
	if startName != endName {
		c.addf(line, "marker pair %q,%q names two different snippets", start, end)
	}
	src := strings.Split(string(data), "\n")
	startLine, okStart := c.findMarker(line, src, start, rel)
	endLine, okEnd := c.findMarker(line, src, end, rel)
	if !okStart || !okEnd {
		return
	}
	if endLine < startLine {
		c.addf(line, "marker %q comes before %q in %s", end, start, rel)
		return
	}
	shown := 0
	for _, l := range src[startLine+1 : endLine] {
		if !strings.HasSuffix(strings.TrimRight(l, " \t\r"), "OMIT") {
			shown++
		}
	}
	switch {
	case shown == 0:
		c.addf(line, "snippet %q in %s is empty", startName, rel)
	case shown > MaxSnippetLines:
		c.addf(line, "snippet %q in %s has %d lines; at most %d fit on a slide", startName, rel, shown, MaxSnippetLines)
	}
}

// findMarker returns the 0-based line of marker in src. The marker must
// appear exactly once and end its line, so that present drops the line.
func (c *checker) findMarker(line int, src []string, marker, rel string) (int, bool) {
	found := -1
	count := 0
	for i, l := range src {
		if strings.Contains(l, marker) {
			count++
			if found < 0 {
				found = i
			}
		}
	}
	switch {
	case count == 0:
		c.addf(line, "marker %q not found in %s", marker, rel)
		return 0, false
	case count > 1:
		c.addf(line, "marker %q appears %d times in %s; it must be unique", marker, count, rel)
		return 0, false
	case !strings.HasSuffix(strings.TrimRight(src[found], " \t\r"), marker):
		c.addf(line, "marker %q does not end line %d of %s, so the line would show on the slide", marker, found+1, rel)
		return 0, false
	}
	return found, true
}

// resolve maps a file or link target of the deck to its path on disk and
// its slash path relative to the repository root. Targets starting with "/"
// are relative to the root, which is what the present server serves.
func (c *checker) resolve(line int, target string) (abs, rel string, ok bool) {
	if strings.HasPrefix(target, "/") {
		abs = filepath.Join(c.root, filepath.FromSlash(target))
	} else {
		abs = filepath.Join(c.dir, filepath.FromSlash(target))
	}
	r, err := filepath.Rel(c.root, abs)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		c.addf(line, "%s points outside the repository", target)
		return "", "", false
	}
	return abs, filepath.ToSlash(r), true
}

// checkTarget checks that a relative link or asset exists; absolute URLs
// and in-page anchors are not followed.
func (c *checker) checkTarget(line int, target, kind string) {
	if scheme.MatchString(target) || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "//") {
		return
	}
	target, _, _ = strings.Cut(target, "#")
	target, _, _ = strings.Cut(target, "?")
	if target == "" {
		return
	}
	abs, rel, ok := c.resolve(line, target)
	if !ok {
		return
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			c.addf(line, "broken %s: %s does not exist", kind, rel)
		} else {
			c.addf(line, "broken %s: %v", kind, err)
		}
	}
}

// checkMageTarget checks that a mage target named in the deck exists. It is
// skipped when the repository has no magefiles.
func (c *checker) checkMageTarget(line int, target string) {
	if c.targets == nil {
		return
	}
	if !c.targets[strings.ToLower(target)] {
		c.addf(line, "mage target %q does not exist in magefiles/", target)
	}
}

// checkSlides applies the per-slide rules to the parsed deck.
func (c *checker) checkSlides(doc *present.Doc, headings []heading, lines []string) {
	lineOf := func(i int) int {
		if len(headings) == len(doc.Sections) {
			return headings[i].line
		}
		return 0
	}
	if len(doc.Sections) == 0 {
		c.addf(0, "deck has no slides")
		return
	}
	if !strings.EqualFold(doc.Sections[0].Title, "Agenda") {
		c.addf(lineOf(0), "first slide is %q, want the agenda (\"## Agenda\")", doc.Sections[0].Title)
	}
	for i, s := range doc.Sections {
		if len(s.Elem) == 0 {
			c.addf(lineOf(i), "slide %q is empty", s.Title)
		}
		if len(s.Notes) == 0 {
			c.addf(lineOf(i), "slide %q has no speaker notes (lines starting with \": \")", s.Title)
		}
	}
	last := len(doc.Sections) - 1
	if start := lineOf(last); start > 0 {
		body := strings.Join(lines[start:], "\n")
		if !readmeLink.MatchString(body) {
			c.addf(start, "last slide %q must link to a README.md", doc.Sections[last].Title)
		}
		if !mageCall.MatchString(body) {
			c.addf(start, "last slide %q must name the `go tool mage` target to run next", doc.Sections[last].Title)
		}
	}
}

// readmeLink matches a Markdown link or .link command pointing at a README.
var readmeLink = regexp.MustCompile(`(?m)(\]\(|^\.link\s+)[^\s)]*README\.md\b`)
