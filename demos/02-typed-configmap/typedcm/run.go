package typedcm

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

const usage = `typed-configmap reads and writes ConfigMaps through typed Go structs.

Usage:
  typed-configmap ca [-A | -n NAMESPACE] [--name kube-root-ca.crt] [--expires-within 720h]
  typed-configmap settings get -n NAMESPACE [--name app-settings] [-o table|json|yaml]
  typed-configmap settings set -n NAMESPACE [--name app-settings] KEY=VALUE...

Every command also accepts --kubeconfig and --context. Run a command with --help for its flags.`

// Run is the command's entry point: it dispatches to the ca or settings command.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, rest := cli.SplitCommand(args, "ca", "settings", "help")
	switch {
	case cmd == "ca":
		return runCA(ctx, rest, stdout, stderr)
	case cmd == "settings":
		return runSettings(ctx, rest, stdout, stderr)
	case cmd == "help" || slices.Contains(args, "-h") || slices.Contains(args, "--help"):
		fmt.Fprintln(stderr, usage)
		return nil
	case len(args) == 0:
		return cli.Usagef("missing command (want ca or settings)")
	default:
		return cli.Usagef("unknown command %q (want ca or settings)", args[0])
	}
}

// newClient connects with the shared flags and returns a controller-runtime client.
func newClient(ctx context.Context, kf *cli.KubeFlags) (client.Client, *cli.Kube, error) {
	kube, err := kf.Connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(kube.Config, client.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the controller-runtime client: %w", err)
	}
	return c, kube, nil
}

func runCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		kf   cli.KubeFlags
		opts CAOptions
	)
	fs := cli.NewFlagSet("typed-configmap ca", "typed-configmap ca checks the root CA bundle ConfigMap of one or every namespace.", stderr)
	kf.AddFlags(fs, true)
	fs.StringVar(&opts.Name, "name", DefaultCAConfigMap, "name of the ConfigMap holding the bundle")
	fs.DurationVar(&opts.ExpiresWithin, "expires-within", 30*24*time.Hour, "flag certificates expiring sooner than this as expires-soon")
	if err := cli.Parse(fs, args); err != nil {
		return cli.IgnoreHelp(err)
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q", fs.Args())
	}
	if opts.Name == "" {
		return cli.Usagef("--name must not be empty")
	}
	c, kube, err := newClient(ctx, &kf)
	if err != nil {
		return err
	}
	opts.Namespace = kube.ListNamespace()
	checker := &CAChecker{Client: c, Now: time.Now}
	rows, err := checker.Check(ctx, opts)
	if err != nil {
		return err
	}
	if err := PrintCARows(stdout, rows); err != nil {
		return err
	}
	return Failed(rows)
}

// Exec runs the command as its main function does: errors are printed once to stderr,
// and the result is the exit code (0 success, 1 runtime error, 2 usage error). Other
// programs, such as the mage targets, use it to run the demo in-process.
func Exec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Report(stderr, "typed-configmap", Run(ctx, args, stdout, stderr))
}
