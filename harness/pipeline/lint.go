package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrLint means a lint check found problems.
var ErrLint = errors.New("lint found problems")

// Lint runs gofmt, go vet (plain, with the e2e tag, and on the magefiles)
// and actionlint on .github/workflows. Every check runs; the failures are
// reported together.
func (r *Runner) Lint(ctx context.Context) error {
	var errs []error
	r.Logf("gofmt -l")
	out, err := r.Output(ctx, "gofmt", "-l", ".")
	if err == nil {
		out = withoutGenerated(out)
	}
	switch {
	case err != nil:
		errs = append(errs, err)
	case strings.TrimSpace(out) != "":
		errs = append(errs, fmt.Errorf("%w: gofmt would reformat these files (run gofmt -w):\n%s", ErrLint, out))
	}
	for _, vet := range [][]string{
		{"vet", "./..."},
		{"vet", "-tags", E2ETag, "./..."},
		{"vet", "-tags", "mage", "./magefiles"},
	} {
		r.Logf("go %s", strings.Join(vet, " "))
		if err := r.Run(ctx, nil, "go", vet...); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrLint, err))
		}
	}
	r.Logf("actionlint")
	if err := r.Run(ctx, nil, "go", "tool", "actionlint"); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrLint, err))
	}
	return errors.Join(errs...)
}

// mageMainfile is the main file mage generates next to the magefiles; it is
// gitignored and not ours to format.
const mageMainfile = "magefiles/mage_output_file.go"

// withoutGenerated drops mage's generated main file from gofmt's list.
func withoutGenerated(list string) string {
	var keep []string
	for _, f := range strings.Split(strings.TrimSpace(list), "\n") {
		if f != "" && filepath.ToSlash(f) != mageMainfile {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, "\n")
}
