package dynobj

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// Client styles selectable with --client for get.
const (
	ClientDynamic           = "dynamic"
	ClientControllerRuntime = "controller-runtime"
)

const usage = `dynamic-objects works with any kind of object, learned from discovery at run time.

Usage:
  dynamic-objects resources [-o table|name]
  dynamic-objects get RESOURCE [NAME] [-n NAMESPACE | -A] [-o table|json|yaml|name] [--client dynamic|controller-runtime]
  dynamic-objects apply -f FILE|- [-n NAMESPACE] [--field-manager NAME] [--force-conflicts]

RESOURCE is a plural, singular, short name or kind, optionally with its group:
pods, po, Pod, deploy, deployments.apps, nodes, widgets.example.com.
Every command also accepts --kubeconfig and --context.`

// Run is the command's entry point.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return RunWithStdin(ctx, args, os.Stdin, stdout, stderr)
}

// RunWithStdin is Run with an explicit standard input (for `apply -f -`).
func RunWithStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := cli.SplitCommand(args, "resources", "get", "apply", "help")
	switch {
	case cmd == "resources":
		return runResources(ctx, rest, stdout, stderr)
	case cmd == "get":
		return runGet(ctx, rest, stdout, stderr)
	case cmd == "apply":
		return runApply(ctx, rest, stdin, stdout, stderr)
	case cmd == "help" || slices.Contains(args, "-h") || slices.Contains(args, "--help"):
		fmt.Fprintln(stderr, usage)
		return nil
	case len(args) == 0:
		return cli.Usagef("missing command (want resources, get or apply)")
	default:
		return cli.Usagef("unknown command %q (want resources, get or apply)", args[0])
	}
}

// connection is what every command needs: the resolved namespace, discovery and a
// REST config.
type connection struct {
	kube     *cli.Kube
	resolver *Resolver
}

func connect(ctx context.Context, kf *cli.KubeFlags) (*connection, error) {
	kube, err := kf.Connect(ctx)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(kube.Config)
	if err != nil {
		return nil, fmt.Errorf("creating the discovery client: %w", err)
	}
	return &connection{kube: kube, resolver: NewResolver(dc)}, nil
}

func runResources(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		kf     cli.KubeFlags
		output string
	)
	fs := cli.NewFlagSet("dynamic-objects resources", usage, stderr)
	kf.AddFlags(fs, false)
	cli.AddOutputFlag(fs, &output, cli.OutputTable, cli.OutputName)
	if err := cli.Parse(fs, args); err != nil {
		return cli.IgnoreHelp(err)
	}
	if fs.NArg() > 0 {
		return cli.Usagef("resources takes no arguments, got %q", fs.Args())
	}
	output, err := cli.ValidateOutput(output, cli.OutputTable, cli.OutputName)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, &kf)
	if err != nil {
		return err
	}
	rs, discErr := conn.resolver.Resources()
	if err := PrintResources(stdout, rs, output); err != nil {
		return err
	}
	return discErr
}

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		kf     cli.KubeFlags
		o      GetOptions
		client string
	)
	fs := cli.NewFlagSet("dynamic-objects get", usage, stderr)
	kf.AddFlags(fs, true)
	cli.AddOutputFlag(fs, &o.Output, cli.OutputTable, cli.OutputJSON, cli.OutputYAML, cli.OutputName)
	fs.StringVar(&client, "client", ClientDynamic, "client library: dynamic|controller-runtime")
	if err := cli.Parse(fs, args); err != nil {
		return cli.IgnoreHelp(err)
	}
	switch fs.NArg() {
	case 1:
		o.Resource = fs.Arg(0)
	case 2:
		o.Resource, o.Name = fs.Arg(0), fs.Arg(1)
	default:
		return cli.Usagef("get needs RESOURCE [NAME], got %d arguments", fs.NArg())
	}
	var err error
	if o.Output, err = cli.ValidateOutput(o.Output, cli.OutputTable, cli.OutputJSON, cli.OutputYAML, cli.OutputName); err != nil {
		return err
	}
	if client != ClientDynamic && client != ClientControllerRuntime {
		return cli.Usagef("unknown --client %q (want %s or %s)", client, ClientDynamic, ClientControllerRuntime)
	}
	if o.Name != "" && kf.AllNamespaces {
		return cli.Usagef("a NAME cannot be combined with --all-namespaces")
	}
	conn, err := connect(ctx, &kf)
	if err != nil {
		return err
	}
	o.Namespace, o.AllNamespaces = conn.kube.Namespace, conn.kube.AllNamespaces
	reader, err := newReader(client, conn)
	if err != nil {
		return err
	}
	g := &Getter{Resolver: conn.resolver, Reader: reader, Out: stdout, Now: time.Now}
	return g.Run(ctx, o)
}

func newReader(style string, conn *connection) (Reader, error) {
	if style == ClientControllerRuntime {
		// Share the resolver's mapper so both see the same (refreshable) discovery.
		c, err := client.New(conn.kube.Config, client.Options{Mapper: conn.resolver.Mapper()})
		if err != nil {
			return nil, fmt.Errorf("creating the controller-runtime client: %w", err)
		}
		return &ControllerRuntimeReader{Client: c}, nil
	}
	dyn, err := dynamic.NewForConfig(conn.kube.Config)
	if err != nil {
		return nil, fmt.Errorf("creating the dynamic client: %w", err)
	}
	return &DynamicReader{Client: dyn}, nil
}

func runApply(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		kf      cli.KubeFlags
		file    string
		manager string
		force   bool
		timeout time.Duration
	)
	fs := cli.NewFlagSet("dynamic-objects apply", usage, stderr)
	kf.AddFlags(fs, false)
	fs.StringVarP(&file, "filename", "f", "", "manifest to apply (a path, or - for standard input)")
	fs.StringVar(&manager, "field-manager", DefaultFieldManager, "server-side apply field manager")
	fs.BoolVar(&force, "force-conflicts", false, "take ownership of fields another manager owns")
	fs.DurationVar(&timeout, "wait-timeout", time.Minute, "how long to wait for a CRD from the manifest to be Established")
	if err := cli.Parse(fs, args); err != nil {
		return cli.IgnoreHelp(err)
	}
	if fs.NArg() > 0 {
		return cli.Usagef("apply takes no arguments, got %q (use -f)", fs.Args())
	}
	if file == "" {
		return cli.Usagef("apply needs -f FILE or -f -")
	}
	if manager == "" {
		return cli.Usagef("--field-manager must not be empty")
	}
	// Parse the whole manifest before connecting: a malformed document means nothing is sent.
	docs, err := ReadManifest(file, stdin)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, &kf)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(conn.kube.Config)
	if err != nil {
		return fmt.Errorf("creating the dynamic client: %w", err)
	}
	watchDyn, err := dynamic.NewForConfig(conn.kube.WatchConfig())
	if err != nil {
		return fmt.Errorf("creating the dynamic client for watching: %w", err)
	}
	a := &Applier{
		Resolver: conn.resolver, Client: dyn, WatchClient: watchDyn, Namespace: conn.kube.Namespace,
		FieldManager: manager, Force: force, WaitTimeout: timeout, Progress: stdout, Log: stderr,
	}
	_, err = a.Apply(ctx, docs)
	return err
}

// Exec runs the command as its main function does: errors are printed once to stderr,
// and the result is the exit code (0 success, 1 runtime error, 2 usage error). Other
// programs, such as the mage targets, use it to run the demo in-process.
func Exec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Report(stderr, "dynamic-objects", Run(ctx, args, stdout, stderr))
}
