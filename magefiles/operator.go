//go:build mage

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/magefile/mage/mg"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"

	opconfig "github.com/kubeworkshop/kubeworkshop/demos/04-operator/config"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/image"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Operator installs, runs and packages the PodSet operator (demos/04-operator).
type Operator mg.Namespace

// Generate regenerates the PodSet operator's deepcopy code, CRDs and RBAC from its kubebuilder markers (go tool controller-gen).
func Generate(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	args := append([]string{"tool", "controller-gen"}, opconfig.ControllerGenArgs("", "", "")...)
	fmt.Printf("go %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go tool controller-gen: %w", err)
	}
	return nil
}

// Install applies the PodSet CRDs and the operator's RBAC to the current cluster (KUBECONFIG or ~/.kube/config).
func (Operator) Install(ctx context.Context) error {
	cfg, err := ctrlconfig.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	fmt.Printf("installing into %s\n", cfg.Host)
	return ops.Install(ctx, cfg, os.Stdout)
}

// Run runs the operator in the foreground against the current cluster until Ctrl-C; extra flags come from OPERATOR_FLAGS.
func (Operator) Run(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	bin, err := ops.BuildOperator(ctx, filepath.Join(root, "_artifacts", "bin"))
	if err != nil {
		return err
	}
	args := strings.Fields(os.Getenv("OPERATOR_FLAGS"))
	fmt.Printf("%s %s\n", bin, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// Ctrl-C reaches only mage, which cancels ctx; the operator then gets a
	// single SIGTERM and shuts down cleanly (releasing its Lease). In the
	// terminal's process group it would get SIGINT and SIGTERM, and
	// controller-runtime exits at once on a second signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil // stopped by the user
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("operator exited with status %d", exit.ExitCode())
	}
	return err
}

// Image builds an OCI image tarball of the operator without Docker into _artifacts/podset-operator.tar (IMAGE_ARCH, IMAGE_TAG override).
func (Operator) Image(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	out := filepath.Join(root, "_artifacts", "podset-operator.tar")
	tag := os.Getenv("IMAGE_TAG")
	if tag == "" {
		tag = image.DefaultTag
	}
	digest, err := image.Build(ctx, image.Options{
		Package: ops.Package,
		Dir:     root,
		Tag:     tag,
		Arch:    os.Getenv("IMAGE_ARCH"),
		Out:     out,
	})
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s\n  image %s@%s\nload it into kind with:\n  kind load image-archive %s --name ${CLUSTER_NAME:-workshop}\n",
		out, tag, digest, out)
	return nil
}

// Operator shows the PodSet operator live: CRDs installed, operator started, sample PodSets converging, a scale-up and a pod deletion, then a clean stop.
func (Demo) Operator(ctx context.Context) error {
	p, err := ensureCluster(ctx)
	if err != nil {
		return err
	}
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	header("operator: a PodSet operator built with controller-runtime (demos/04-operator)")
	return ops.Demo(ctx, ops.DemoOptions{
		Kubeconfig: p.KubeconfigPath(),
		WorkDir:    filepath.Join(root, "_artifacts", "demo-operator"),
	})
}
