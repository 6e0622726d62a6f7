package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

// Exit codes used by every demo.
const (
	ExitOK      = 0 // the command did what was asked
	ExitRuntime = 1 // the command was well-formed but failed (API error, bad data, unreachable cluster)
	ExitUsage   = 2 // the command line was wrong
)

// UsageError marks an error caused by the command line itself; it maps to exit code 2.
type UsageError struct {
	Err error
}

// Error implements error.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError from a format string.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// IsUsage reports whether err (or anything it wraps) is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// ExitCode maps an error returned by a demo's Run function to a process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case IsUsage(err):
		return ExitUsage
	default:
		return ExitRuntime
	}
}

// RunFunc is the signature of a demo's testable entry point.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs a demo's entry point with a context cancelled on Ctrl-C or SIGTERM, prints
// a returned error once on stderr and exits with the matching code. It never returns.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	code := Report(os.Stderr, name, err)
	os.Exit(code)
}

// Report prints err (if any) to w in the demos' common format and returns the exit code.
func Report(w io.Writer, name string, err error) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(w, "%s: error: %v\n", name, err)
	if IsUsage(err) {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", name)
	}
	return ExitCode(err)
}

// ErrHelp is returned by Parse when -h/--help was requested; callers treat it as success.
var ErrHelp = pflag.ErrHelp

// IgnoreHelp turns ErrHelp (help was printed) into success and returns other errors.
func IgnoreHelp(err error) error {
	if errors.Is(err, ErrHelp) {
		return nil
	}
	return err
}

// Parse parses args into fs, converting flag errors into UsageErrors. It returns
// ErrHelp (after the usage text has been printed) when help was requested.
func Parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return ErrHelp
		}
		return &UsageError{Err: err}
	}
	return nil
}

// NewFlagSet returns a pflag.FlagSet that reports errors instead of exiting and prints
// its usage text to w.
func NewFlagSet(name, usage string, w io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(w)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(w, "%s\n\nFlags:\n%s", usage, fs.FlagUsages())
	}
	return fs
}
