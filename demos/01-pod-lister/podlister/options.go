package podlister

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// Client styles selectable with --client.
const (
	ClientControllerRuntime = "controller-runtime"
	ClientGo                = "clientgo"
)

// DefaultPageSize is the number of pods requested per page unless --page-size says otherwise.
const DefaultPageSize = 500

// RequestTimeout bounds each list request. The clients themselves carry no timeout,
// because a watch is one long request.
const RequestTimeout = cli.RequestTimeout

const usage = `pod-lister lists pods like 'kubectl get pods', one page at a time.

Usage:
  pod-lister [-n NAMESPACE | -A] [-l SELECTOR] [--field-selector SELECTOR] [--page-size N]
             [-o table|name|json|yaml] [--client controller-runtime|clientgo] [--watch] [-v]`

// Query says which pods to list: a namespace ("" for all), selectors the server applies
// (nil for everything) and the page size.
type Query struct {
	Namespace string
	Labels    labels.Selector
	Fields    fields.Selector
	PageSize  int64
}

// Options is a parsed command line.
type Options struct {
	Kube          cli.KubeFlags
	Client        string
	LabelSelector labels.Selector
	FieldSelector fields.Selector
	PageSize      int64
	Output        string
	Watch         bool
	Verbose       bool
}

// ParseArgs parses the command line. Errors are cli.UsageErrors; cli.ErrHelp means help
// was printed to w.
func ParseArgs(args []string, w io.Writer) (*Options, error) {
	o := &Options{}
	var labelSel, fieldSel string
	fs := cli.NewFlagSet("pod-lister", usage, w)
	o.Kube.AddFlags(fs, true)
	fs.StringVarP(&labelSel, "selector", "l", "", "label selector, e.g. app=web,tier!=cache")
	fs.StringVar(&fieldSel, "field-selector", "", "field selector, e.g. spec.nodeName=node-1,status.phase=Running")
	fs.Int64Var(&o.PageSize, "page-size", DefaultPageSize, "pods requested per page (the API's limit/continue)")
	cli.AddOutputFlag(fs, &o.Output, cli.OutputTable, cli.OutputName, cli.OutputJSON, cli.OutputYAML)
	fs.StringVar(&o.Client, "client", ClientControllerRuntime, "client library: controller-runtime|clientgo")
	fs.BoolVarP(&o.Watch, "watch", "w", false, "after listing, stream changes until Ctrl-C")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "print each page's size and continue token to stderr")
	if err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("unexpected arguments %q (pod-lister takes only flags)", fs.Args())
	}
	if err := o.Kube.Validate(); err != nil {
		return nil, err
	}
	var err error
	if o.Output, err = cli.ValidateOutput(o.Output, cli.OutputTable, cli.OutputName, cli.OutputJSON, cli.OutputYAML); err != nil {
		return nil, err
	}
	if o.Client != ClientControllerRuntime && o.Client != ClientGo {
		return nil, cli.Usagef("unknown --client %q (want %s or %s)", o.Client, ClientControllerRuntime, ClientGo)
	}
	if o.PageSize <= 0 {
		return nil, cli.Usagef("--page-size must be positive, got %d", o.PageSize)
	}
	// Empty selectors stay nil: they select everything.
	if labelSel != "" {
		if o.LabelSelector, err = labels.Parse(labelSel); err != nil {
			return nil, cli.Usagef("invalid --selector %q: %v", labelSel, err)
		}
	}
	if fieldSel != "" {
		if o.FieldSelector, err = fields.ParseSelector(fieldSel); err != nil {
			return nil, cli.Usagef("invalid --field-selector %q: %v", fieldSel, err)
		}
	}
	return o, nil
}

// selector renders a selector for metav1.ListOptions; nil selects everything.
func selector(s fmt.Stringer) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// Run is the command's entry point: it parses args, connects to the cluster, builds the
// selected client and lists (and optionally watches) pods to stdout.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := ParseArgs(args, stderr)
	if errors.Is(err, cli.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	kube, err := o.Kube.Connect(ctx)
	if err != nil {
		return err
	}
	src, err := NewSource(o.Client, kube.WatchConfig())
	if err != nil {
		return err
	}
	p, err := NewPrinter(o.Output, stdout, time.Now, kube.AllNamespaces)
	if err != nil {
		return err
	}
	verbose := io.Discard
	if o.Verbose {
		verbose = stderr
	}
	q := Query{Namespace: kube.ListNamespace(), Labels: o.LabelSelector, Fields: o.FieldSelector, PageSize: o.PageSize}
	return ListAndWatch(ctx, src, q, p, verbose, o.Watch)
}

// ListAndWatch lists, then (with watchToo) watches from the list's resourceVersion. Nil
// verbose writer discards.
func ListAndWatch(ctx context.Context, src PodSource, q Query, p Printer, verbose io.Writer, watchToo bool) error {
	if verbose == nil {
		verbose = io.Discard
	}
	rv, err := List(ctx, src, q, p, verbose)
	if err != nil || !watchToo {
		return err
	}
	if rv == "" {
		return errors.New("cannot watch: the list returned no resourceVersion to resume from")
	}
	if err := p.BeginWatch(); err != nil {
		return err
	}
	return Watch(ctx, src, q, rv, p)
}

// Exec runs the command as its main function does: errors are printed once to stderr,
// and the result is the exit code (0 success, 1 runtime error, 2 usage error). Other
// programs, such as the mage targets, use it to run the demo in-process.
func Exec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Report(stderr, "pod-lister", Run(ctx, args, stdout, stderr))
}
