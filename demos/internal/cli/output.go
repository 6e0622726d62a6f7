package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Output formats understood by the demos (each demo accepts a subset).
const (
	OutputTable = "table"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
	OutputName  = "name"
)

// AddOutputFlag registers -o/--output on fs with the given allowed formats; the first is
// the default. Check the value with ValidateOutput after parsing.
func AddOutputFlag(fs *pflag.FlagSet, target *string, allowed ...string) {
	fs.StringVarP(target, "output", "o", allowed[0], "output format: "+strings.Join(allowed, "|"))
}

// ValidateOutput returns a UsageError unless got is one of allowed. An empty value means
// the first allowed format ("wide" is accepted as an alias for "table").
func ValidateOutput(got string, allowed ...string) (string, error) {
	if got == "" {
		return allowed[0], nil
	}
	if got == "wide" && slices.Contains(allowed, OutputTable) {
		return OutputTable, nil
	}
	if !slices.Contains(allowed, got) {
		return "", Usagef("unknown output format %q (want one of %s)", got, strings.Join(allowed, ", "))
	}
	return got, nil
}

// Table writes aligned columns like kubectl does. Rows are buffered until Flush, so
// call Flush after each page to keep memory flat for long listings. Column widths are
// remembered across flushes, so rows flushed one at a time (watch events) stay aligned
// with the rows before them.
type Table struct {
	w      io.Writer
	rows   [][]string
	widths []int
}

// NewTable returns a Table writing to w.
func NewTable(w io.Writer) *Table { return &Table{w: w} }

// MinWidths makes the columns at least this wide, e.g. as wide as another table's.
func (t *Table) MinWidths(widths ...int) {
	for i, n := range widths {
		t.widen(i, n)
	}
}

// Widths returns the current column widths.
func (t *Table) Widths() []int { return slices.Clone(t.widths) }

func (t *Table) widen(i, n int) {
	for len(t.widths) <= i {
		t.widths = append(t.widths, 0)
	}
	t.widths[i] = max(t.widths[i], n)
}

// Row buffers one row; tabs and newlines in cells become spaces.
func (t *Table) Row(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = sanitize(c)
		t.widen(i, utf8.RuneCountInString(row[i]))
	}
	t.rows = append(t.rows, row)
}

// Flush writes the buffered rows, each cell but the last padded to its column's width
// plus three spaces.
func (t *Table) Flush() error {
	var b strings.Builder
	for _, row := range t.rows {
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)+3))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = t.rows[:0]
	if _, err := io.WriteString(t.w, b.String()); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

func sanitize(s string) string {
	if s == "" {
		return "<none>"
	}
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
}

// Age renders the time since t the way kubectl's AGE column does ("5m", "3d"). The zero
// time renders as "<unknown>".
func Age(now, t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
