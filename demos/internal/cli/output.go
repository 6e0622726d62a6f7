package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

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

// Table writes aligned columns like kubectl does. Rows are buffered until Flush, so call
// Flush after each page to keep memory flat for long listings.
type Table struct {
	tw *tabwriter.Writer
}

// NewTable returns a Table writing to w.
func NewTable(w io.Writer) *Table {
	return &Table{tw: tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)}
}

// Row writes one row; cells must not contain tabs or newlines.
func (t *Table) Row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			_, _ = io.WriteString(t.tw, "\t")
		}
		_, _ = io.WriteString(t.tw, sanitize(c))
	}
	_, _ = io.WriteString(t.tw, "\n")
}

// Flush writes buffered rows to the underlying writer.
func (t *Table) Flush() error {
	if err := t.tw.Flush(); err != nil {
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
