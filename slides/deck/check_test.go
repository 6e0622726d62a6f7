package deck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDemo is a demo source with one well-formed marker pair and a few
// broken ones for the tests to point at.
const fixtureDemo = `package main

import "fmt"

// START hello OMIT
func hello() { fmt.Println("hello") }
// END hello OMIT

// START late OMIT
func late() {}
// END early OMIT
// START early OMIT

// START inline OMIT trailing words
func inline() {}
// END inline OMIT

// START twice OMIT
// START twice OMIT
// END twice OMIT
`

const fixtureMagefile = `//go:build mage

package main

import (
	"context"

	"github.com/magefile/mage/mg"
)

type Demo mg.Namespace

func (Demo) PodLister(ctx context.Context) error { return nil }

func Test() error { return nil }
`

// goodDeck passes every check. Tests derive broken decks from it by
// replacing one line, so line numbers below refer to this text.
const goodDeck = `# Fixture deck
A deck for tests

Workshop Team

## Agenda

- one
- two

: Say what is coming.

## Code

.code ../demos/01-fixture/main.go /START hello OMIT/,/END hello OMIT/

: Walk through hello.

## Commands

.code scripts/01-get.sh
.code scripts/out/01-get.txt
: Run it.

## Try it

Run ` + "`go tool mage demo:podLister`" + ` and read [the README](../demos/01-fixture/README.md).

: Hand over to the demo.
`

// writeFixture creates a repository root with one demo, a magefile, a
// script and the given deck as slides/01-fixture.slide.
func writeFixture(t *testing.T, deck string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"demos/01-fixture/main.go":      fixtureDemo,
		"demos/01-fixture/README.md":    "# Fixture demo\n",
		"magefiles/demo.go":             fixtureMagefile,
		"slides/scripts/01-get.sh":      "kubectl get pods\n",
		"slides/scripts/out/01-get.txt": "No resources found in default namespace.\n",
		"slides/scripts/out/SHA256SUMS": ScriptSum([]byte("kubectl get pods\n")) + "  01-get.sh\n",
		"slides/01-fixture.slide":       deck,
	}
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// replaceLine returns src with its 1-based line n replaced by text.
func replaceLine(t *testing.T, src string, n int, text string) string {
	t.Helper()
	lines := strings.Split(src, "\n")
	if n < 1 || n > len(lines) {
		t.Fatalf("line %d out of range", n)
	}
	lines[n-1] = text
	return strings.Join(lines, "\n")
}

func TestCheck(t *testing.T) {
	const codeLine = 15 // the .code line of the "Code" slide in goodDeck
	tests := []struct {
		name string
		deck string
		want []string // each problem, formatted with Problem.String
	}{
		{
			name: "good deck",
			deck: goodDeck,
		},
		{
			name: "broken OMIT marker names deck, line and marker",
			deck: replaceLine(t, goodDeck, codeLine, ".code ../demos/01-fixture/main.go /START helo OMIT/,/END helo OMIT/"),
			want: []string{
				`slides/01-fixture.slide:15: marker "START helo OMIT" not found in demos/01-fixture/main.go`,
				`slides/01-fixture.slide:15: marker "END helo OMIT" not found in demos/01-fixture/main.go`,
			},
		},
		{
			name: "missing file",
			deck: replaceLine(t, goodDeck, codeLine, ".code ../demos/01-fixture/gone.go /START hello OMIT/,/END hello OMIT/"),
			want: []string{`slides/01-fixture.slide:15: missing file demos/01-fixture/gone.go`},
		},
		{
			name: "missing script",
			deck: replaceLine(t, goodDeck, 21, ".code scripts/01-gone.sh"),
			want: []string{
				`slides/01-fixture.slide:21: missing file slides/scripts/01-gone.sh`,
				`slides/01-fixture.slide:21: slides/scripts/01-gone.sh is shown without its output: add .code scripts/out/01-gone.txt to the slide`,
			},
		},
		{
			name: "command without its recorded output",
			deck: replaceLine(t, goodDeck, 22, ""),
			want: []string{`slides/01-fixture.slide:21: slides/scripts/01-get.sh is shown without its output: add .code scripts/out/01-get.txt to the slide`},
		},
		{
			name: "recorded output missing",
			deck: replaceLine(t, goodDeck, 22, ".code scripts/out/01-gone.txt"),
			want: []string{
				`slides/01-fixture.slide:21: slides/scripts/01-get.sh is shown without its output: add .code scripts/out/01-get.txt to the slide`,
				`slides/01-fixture.slide:22: recorded output slides/scripts/out/01-gone.txt is missing; run the slide scripts' e2e suite (SUITE=slides go tool mage e2e) to record it`,
			},
		},
		{
			name: "demo code without markers",
			deck: replaceLine(t, goodDeck, codeLine, ".code ../demos/01-fixture/main.go /^func hello/"),
			want: []string{`slides/01-fixture.slide:15: code from demos/01-fixture/main.go must be selected with /START name OMIT/,/END name OMIT/, got "/^func hello/"`},
		},
		{
			name: "END marker before START",
			deck: replaceLine(t, goodDeck, codeLine, ".code ../demos/01-fixture/main.go /START early OMIT/,/END early OMIT/"),
			want: []string{`slides/01-fixture.slide:15: marker "END early OMIT" comes before "START early OMIT" in demos/01-fixture/main.go`},
		},
		{
			name: "mismatched marker names",
			deck: replaceLine(t, goodDeck, codeLine, ".code ../demos/01-fixture/main.go /START late OMIT/,/END early OMIT/"),
			want: []string{`slides/01-fixture.slide:15: marker pair "START late OMIT","END early OMIT" names two different snippets`},
		},
		{
			name: "marker not at end of line",
			deck: replaceLine(t, goodDeck, codeLine, ".code ../demos/01-fixture/main.go /START inline OMIT/,/END inline OMIT/"),
			want: []string{`slides/01-fixture.slide:15: marker "START inline OMIT" does not end line 14 of demos/01-fixture/main.go, so the line would show on the slide`},
		},
		{
			name: "duplicate marker",
			deck: replaceLine(t, goodDeck, codeLine, ".code ../demos/01-fixture/main.go /START twice OMIT/,/END twice OMIT/"),
			want: []string{`slides/01-fixture.slide:15: marker "START twice OMIT" appears 2 times in demos/01-fixture/main.go; it must be unique`},
		},
		{
			name: "empty slide",
			deck: replaceLine(t, replaceLine(t, goodDeck, codeLine, ""), 17, ""),
			want: []string{
				`slides/01-fixture.slide:13: slide "Code" is empty`,
				`slides/01-fixture.slide:13: slide "Code" has no speaker notes (lines starting with ": ")`,
			},
		},
		{
			name: "slide without notes",
			deck: replaceLine(t, goodDeck, 23, ""),
			want: []string{`slides/01-fixture.slide:19: slide "Commands" has no speaker notes (lines starting with ": ")`},
		},
		{
			name: "broken link to a demo",
			deck: replaceLine(t, goodDeck, 27, "Run `go tool mage demo:podLister` and read [the README](../demos/09-missing/README.md)."),
			want: []string{`slides/01-fixture.slide:27: broken link: demos/09-missing/README.md does not exist`},
		},
		{
			name: "broken .link to a demo",
			deck: replaceLine(t, replaceLine(t, goodDeck, 9, ""), 10, ".link ../demos/09-missing/ the missing demo"),
			want: []string{`slides/01-fixture.slide:10: broken link: demos/09-missing does not exist`},
		},
		{
			name: "unknown mage target",
			deck: replaceLine(t, goodDeck, 27, "Run `go tool mage demo:podlist` and read [the README](../demos/01-fixture/README.md)."),
			want: []string{`slides/01-fixture.slide:27: mage target "demo:podlist" does not exist in magefiles/`},
		},
		{
			name: "last slide without README or target",
			deck: replaceLine(t, goodDeck, 27, "That is all."),
			want: []string{
				`slides/01-fixture.slide:25: last slide "Try it" must link to a README.md`,
				"slides/01-fixture.slide:25: last slide \"Try it\" must name the `go tool mage` target to run next",
			},
		},
		{
			name: "no agenda",
			deck: replaceLine(t, goodDeck, 6, "## Plan"),
			want: []string{`slides/01-fixture.slide:6: first slide is "Plan", want the agenda ("## Agenda")`},
		},
		{
			name: "present parse error",
			deck: replaceLine(t, goodDeck, 12, ".nosuchcommand"),
			want: []string{`slides/01-fixture.slide: parsing deck: slides/01-fixture.slide:12: unknown command ".nosuchcommand"`},
		},
		{
			name: "command directly after text",
			deck: replaceLine(t, goodDeck, 10, ".code scripts/01-get.sh"),
			want: []string{
				`slides/01-fixture.slide:10: present drops ".code scripts/01-get.sh" because it directly follows text; add a blank line before it`,
				`slides/01-fixture.slide:10: slides/scripts/01-get.sh is shown without its output: add .code scripts/out/01-get.txt to the slide`,
			},
		},
		{
			name: "fenced block cut by a shell comment",
			deck: replaceLine(t, goodDeck, 8, "```\n# list pods\nkubectl get pods\n```"),
			want: []string{"slides/01-fixture.slide:9: present cuts the fenced code block at \"# list pods\"; show code with .code instead"},
		},
		{
			name: "note directly after text",
			deck: replaceLine(t, goodDeck, 28, ": An extra note."),
			want: []string{`slides/01-fixture.slide:28: present drops ": An extra note." because it directly follows text; add a blank line before it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeFixture(t, tt.deck)
			problems, err := Check(root)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if (problems.Err() == nil) != (len(tt.want) == 0) {
				t.Errorf("Err() = %v, want an error only when there are problems", problems.Err())
			}
		})
	}
}

func TestCheckStaleOutput(t *testing.T) {
	root := writeFixture(t, goodDeck)
	script := filepath.Join(root, "slides", "scripts", "01-get.sh")
	if err := os.WriteFile(script, []byte("kubectl get pods -A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "slides/01-fixture.slide:21: recorded output slides/scripts/out/01-get.txt is stale: slides/scripts/01-get.sh changed since it was recorded"
	problems, err := CheckDeck(root, "slides/01-fixture.slide")
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), want) {
		t.Fatalf("problems = %v, want one starting %q", problems, want)
	}

	// Recording the output again brings the sum up to date.
	if err := RecordOutput(root, "slides/scripts/01-get.sh", []byte("NAMESPACE   NAME\n")); err != nil {
		t.Fatal(err)
	}
	if problems, err := CheckDeck(root, "slides/01-fixture.slide"); err != nil || len(problems) > 0 {
		t.Fatalf("after RecordOutput: problems %v, err %v", problems, err)
	}
	got, err := os.ReadFile(filepath.Join(root, "slides", "scripts", "out", "01-get.txt"))
	if err != nil || string(got) != "NAMESPACE   NAME\n" {
		t.Errorf("recorded output = %q, %v", got, err)
	}
}

func TestCheckSnippetTooLong(t *testing.T) {
	root := writeFixture(t, goodDeck)
	long := "// START long OMIT\n" + strings.Repeat("x := 1\n", MaxSnippetLines+1) + "// END long OMIT\n"
	if err := os.WriteFile(filepath.Join(root, "demos/01-fixture/long.go"), []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	deck := replaceLine(t, goodDeck, 15, ".code ../demos/01-fixture/long.go /START long OMIT/,/END long OMIT/")
	if err := os.WriteFile(filepath.Join(root, "slides/01-fixture.slide"), []byte(deck), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := CheckDeck(root, "slides/01-fixture.slide")
	if err != nil {
		t.Fatal(err)
	}
	want := `slides/01-fixture.slide:15: snippet "long" in demos/01-fixture/long.go has 21 lines; at most 20 fit on a slide`
	if len(problems) != 1 || problems[0].String() != want {
		t.Errorf("problems = %v, want [%s]", problems, want)
	}
}

func TestFind(t *testing.T) {
	root := writeFixture(t, goodDeck)
	if err := os.WriteFile(filepath.Join(root, "slides/00-intro.slide"), []byte(goodDeck), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"slides/00-intro.slide", "slides/01-fixture.slide"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Find = %v, want %v", got, want)
	}
	if _, err := Find(t.TempDir()); err == nil {
		t.Error("Find in a root without decks succeeded, want an error")
	}
}

func TestParseAndPageCount(t *testing.T) {
	root := writeFixture(t, goodDeck)
	doc, err := Parse(root, "slides/01-fixture.slide")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Title != "Fixture deck" {
		t.Errorf("Title = %q", doc.Title)
	}
	if got := PageCount(doc); got != 6 {
		t.Errorf("PageCount = %d, want 6 (title, 4 slides, closing slide)", got)
	}
	if got := Name("slides/01-fixture.slide"); got != "01-fixture" {
		t.Errorf("Name = %q", got)
	}
}
