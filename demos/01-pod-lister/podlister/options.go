package podlister

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// Client styles selectable with --client.
const (
	ClientControllerRuntime = "controller-runtime"
	ClientGo                = "clientgo"
)

// DefaultPageSize is the number of pods requested per page unless --page-size says otherwise.
const DefaultPageSize = 500

const usage = `pod-lister lists pods like 'kubectl get pods', one page at a time.

Usage:
  pod-lister [-n NAMESPACE | -A] [-l SELECTOR] [--field-selector SELECTOR]
             [--page-size N] [-o table|name|json|yaml] [--client controller-runtime|clientgo] [--watch]`

// Options is a parsed command line.
type Options struct {
	Kube          cli.KubeFlags
	Client        string
	LabelSelector labels.Selector
	FieldSelector fields.Selector
	PageSize      int64
	Output        string
	Watch         bool
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
	if o.LabelSelector, err = labels.Parse(labelSel); err != nil {
		return nil, cli.Usagef("invalid --selector %q: %v", labelSel, err)
	}
	if o.FieldSelector, err = fields.ParseSelector(fieldSel); err != nil {
		return nil, cli.Usagef("invalid --field-selector %q: %v", fieldSel, err)
	}
	return o, nil
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
	src, err := NewSource(o.Client, kube)
	if err != nil {
		return err
	}
	l := &Lister{Source: src, Out: stdout, Now: time.Now}
	return l.Run(ctx, Query{
		Namespace:     kube.ListNamespace(),
		AllNamespaces: kube.AllNamespaces,
		Labels:        o.LabelSelector,
		Fields:        o.FieldSelector,
		PageSize:      o.PageSize,
	}, o.Output, o.Watch)
}

// NewSource builds the PodSource for the chosen client style. List requests use the
// connection's bounded timeout; watches use a copy without it.
func NewSource(style string, kube *cli.Kube) (PodSource, error) {
	switch style {
	case ClientGo:
		// START clientset OMIT
		list, err := kubernetes.NewForConfig(kube.Config)
		if err != nil {
			return nil, fmt.Errorf("creating the client-go clientset: %w", err)
		}
		// END clientset OMIT
		watch, err := kubernetes.NewForConfig(kube.WatchConfig())
		if err != nil {
			return nil, fmt.Errorf("creating the client-go clientset for watching: %w", err)
		}
		return &ClientsetSource{List: list, Watch: watch}, nil
	default:
		// START crclient OMIT
		list, err := client.New(kube.Config, client.Options{})
		if err != nil {
			return nil, fmt.Errorf("creating the controller-runtime client: %w", err)
		}
		// END crclient OMIT
		watch, err := client.NewWithWatch(kube.WatchConfig(), client.Options{})
		if err != nil {
			return nil, fmt.Errorf("creating the controller-runtime client for watching: %w", err)
		}
		return &ControllerRuntimeSource{Client: list, WatchClient: watch}, nil
	}
}

// Exec runs the command as its main function does: errors are printed once to stderr,
// and the result is the exit code (0 success, 1 runtime error, 2 usage error). Other
// programs, such as the mage targets, use it to run the demo in-process.
func Exec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Report(stderr, "pod-lister", Run(ctx, args, stdout, stderr))
}
