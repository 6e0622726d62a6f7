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
	"time"

	"github.com/magefile/mage/mg"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	opconfig "github.com/kubeworkshop/kubeworkshop/demos/04-operator/config"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/image"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
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

// targetKubeconfig is the kubeconfig the operator targets act on: KUBECONFIG
// when set on purpose, otherwise the CLUSTER_NAME cluster's own file (never
// whatever ~/.kube/config's current context happens to be). It says which.
func targetKubeconfig() (string, error) {
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		fmt.Fprintf(os.Stderr, "acting on KUBECONFIG=%s\n", kc)
		return kc, nil
	}
	p, err := provider()
	if err != nil {
		return "", err
	}
	kc := p.KubeconfigPath()
	if _, err := os.Stat(kc); err != nil {
		return "", fmt.Errorf("cluster %q has no kubeconfig at %s: run `go tool mage cluster:up` first, or set KUBECONFIG", p.Name(), kc)
	}
	fmt.Fprintf(os.Stderr, "acting on cluster %q (%s)\n", p.Name(), kc)
	return kc, nil
}

// Install applies the PodSet CRDs, the operator's namespace and its RBAC to the CLUSTER_NAME cluster (or KUBECONFIG when set).
func (Operator) Install(ctx context.Context) error {
	kc, err := targetKubeconfig()
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", kc, err)
	}
	return ops.Install(ctx, cfg, os.Stdout)
}

// Run runs the operator in the foreground against the CLUSTER_NAME cluster (or KUBECONFIG) until Ctrl-C; extra flags come from OPERATOR_FLAGS.
func (Operator) Run(ctx context.Context) error {
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	kc, err := targetKubeconfig()
	if err != nil {
		return err
	}
	bin, err := ops.BuildOperator(ctx, filepath.Join(root, "_artifacts", "bin"))
	if err != nil {
		return err
	}
	args := append([]string{"--kubeconfig", kc}, strings.Fields(os.Getenv("OPERATOR_FLAGS"))...)
	fmt.Printf("%s %s\n", bin, strings.Join(args, " "))
	// harness/proc: Ctrl-C, SIGTERM or SIGHUP cancel ctx; the operator, in a
	// process group of its own, then gets a single SIGTERM and shuts down
	// cleanly (releasing its Lease) within mage's 5-second grace, or is
	// killed. In the terminal's group it would get SIGINT and SIGTERM, and
	// controller-runtime exits at once on a second signal.
	cmd := proc.New(proc.WithGrace(4*time.Second)).Command(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
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
	out := ops.OperatorImage(root)
	tag := os.Getenv("IMAGE_TAG")
	if tag == "" {
		tag = image.DefaultTag
	}
	digest, err := image.Build(ctx, image.Options{
		Package:  ops.Package,
		Dir:      root,
		Tag:      tag,
		Arch:     os.Getenv("IMAGE_ARCH"),
		Out:      out,
		Progress: os.Stdout,
	})
	if err != nil {
		return err
	}
	p, err := provider()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s\n  image %s@%s\nload it into kind with:\n  kind load image-archive %s --name %s\n",
		out, tag, digest, out, p.Name())
	return nil
}

// Deploy builds the operator's image, loads it into every node of the CLUSTER_NAME kind cluster, applies config/default with it (CRDs, namespace, RBAC, Deployment, metrics Service) and waits until the Deployment is Available (IMAGE_TAG overrides the tag).
func (Operator) Deploy(ctx context.Context) error {
	p, cfg, err := existingCluster(ctx)
	if err != nil {
		return err
	}
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "deploying the operator into %s cluster %q\n", p.ProviderName(), p.Name())
	build := image.Options{Package: ops.Package, Dir: root, Tag: os.Getenv("IMAGE_TAG"), Out: ops.OperatorImage(root), Progress: os.Stdout}
	return ops.BuildAndDeploy(ctx, cfg, p, build, ops.DeployOptions{Out: os.Stdout})
}

// Undeploy removes the in-cluster operator from the CLUSTER_NAME cluster (namespace, Deployment, RBAC); the CRDs stay, and it refuses while PodSets exist.
func (Operator) Undeploy(ctx context.Context) error {
	_, cfg, err := existingCluster(ctx)
	if err != nil {
		return err
	}
	return ops.Undeploy(ctx, cfg, os.Stdout)
}

// existingCluster is the CLUSTER_NAME cluster and its client configuration;
// it fails, saying how to create it, when the cluster does not exist.
func existingCluster(ctx context.Context) (*cluster.Provider, *rest.Config, error) {
	p, err := provider()
	if err != nil {
		return nil, nil, err
	}
	if err := p.RequireExisting(ctx); err != nil {
		return nil, nil, err
	}
	cfg, err := p.RESTConfig()
	return p, cfg, err
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
