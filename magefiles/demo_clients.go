//go:build mage

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/01-pod-lister/podlister"
	"github.com/kubeworkshop/kubeworkshop/demos/02-typed-configmap/typedcm"
	"github.com/kubeworkshop/kubeworkshop/demos/03-dynamic-objects/dynobj"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

// demoNamespace holds the sample objects demos 01–03 show.
const demoNamespace = "workshop-demo"

// caLabNamespace holds a deliberately broken CA bundle for demo 02.
const caLabNamespace = "workshop-ca-lab"

// PodLister runs demo 01: lists pods with the controller-runtime client and the client-go clientset, page by page.
func (Demo) PodLister(ctx context.Context) error {
	p, c, err := demoCluster(ctx)
	if err != nil {
		return err
	}
	if err := seedPods(ctx, c); err != nil {
		return err
	}
	kc := p.KubeconfigPath()
	return runSteps(ctx, "01 pod lister", podlister.Exec,
		step("every pod, listed with the controller-runtime client", "--kubeconfig", kc, "-A"),
		step("label selector app=web in "+demoNamespace+", with the client-go clientset", "--kubeconfig", kc, "-n", demoNamespace, "-l", "app=web", "--client", "clientgo"),
		step("pages of 2 pods (limit/continue); -v shows each page's continue token", "--kubeconfig", kc, "-n", demoNamespace, "--page-size", "2", "-o", "name", "-v"),
	)
}

// TypedConfigMap runs demo 02: checks every namespace's root CA bundle and round-trips typed settings.
func (Demo) TypedConfigMap(ctx context.Context) error {
	p, c, err := demoCluster(ctx)
	if err != nil {
		return err
	}
	if err := seedBrokenCA(ctx, c); err != nil {
		return err
	}
	// The settings live in the demo namespace, which demo 01 creates; a
	// learner may start with demo 02 on a fresh cluster.
	if err := ensureNamespace(ctx, c, demoNamespace); err != nil {
		return err
	}
	kc := p.KubeconfigPath()
	return runSteps(ctx, "02 typed ConfigMap", typedcm.Exec,
		step("kube-root-ca.crt of every namespace, read into a typed struct", "ca", "--kubeconfig", kc, "-A"),
		step("a broken bundle in "+caLabNamespace+" gets an invalid row and exit code 1", "ca", "--kubeconfig", kc, "-n", caLabNamespace, "--name", "broken-ca").exits(exitRuntime),
		step("settings written with server-side apply, then read back", "settings", "set", "--kubeconfig", kc, "-n", demoNamespace, "replicas=3", "debug=true", "refreshInterval=45s"),
		step("a wrong-typed value is refused before anything is written (exit code 2)", "settings", "set", "--kubeconfig", kc, "-n", demoNamespace, "replicas=three").exits(exitUsage),
	)
}

// DynamicObjects runs demo 03: discovery, get of any resource as unstructured data, and apply of a CRD with its instances.
func (Demo) DynamicObjects(ctx context.Context) error {
	p, c, err := demoCluster(ctx)
	if err != nil {
		return err
	}
	if err := seedPods(ctx, c); err != nil {
		return err
	}
	root, err := repo.Root("")
	if err != nil {
		return err
	}
	kc, ns := p.KubeconfigPath(), demoNamespace
	manifest := filepath.Join(root, "demos", "03-dynamic-objects", "testdata", "widgets.yaml")
	return runSteps(ctx, "03 dynamic objects", dynobj.Exec,
		step("the resources this server serves, from discovery", "resources", "--kubeconfig", kc),
		step("'po' resolved by the RESTMapper, read with the dynamic client", "get", "po", "--kubeconfig", kc, "-n", ns),
		step("'Node' by kind, read with the controller-runtime client as Unstructured", "get", "Node", "--kubeconfig", kc, "--client", "controller-runtime"),
		step("an unknown resource exits 1 and suggests close matches", "get", "pdos", "--kubeconfig", kc).exits(exitRuntime),
		step("apply a CRD and its instances in one manifest (server-side apply)", "apply", "--kubeconfig", kc, "-n", ns, "-f", manifest),
		step("the custom resource, unknown when the program was built", "get", "widgets", "--kubeconfig", kc, "-n", ns),
		step("applying the same manifest again changes nothing", "apply", "--kubeconfig", kc, "-n", ns, "-f", manifest),
	)
}

// demoCluster brings the cluster up and returns a client for seeding sample objects.
func demoCluster(ctx context.Context) (*cluster.Provider, client.Client, error) {
	p, err := ensureCluster(ctx)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(os.Stderr, "demo on cluster %q (kubeconfig %s)\n", p.Name(), p.KubeconfigPath())
	cfg, err := p.RESTConfig()
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("creating a client to seed sample objects: %w", err)
	}
	return p, c, nil
}

// Exit codes shared by the demos.
const (
	exitRuntime = 1
	exitUsage   = 2
)

// demoExec is a demo's in-process entry point (its package's Exec function).
type demoExec func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// demoStep is one step of a client demo: a header, then the demo run
// in-process with args, as its main would, expected to exit with code exit.
type demoStep struct {
	title string
	args  []string
	exit  int
}

// step is a demoStep that is expected to succeed.
func step(title string, args ...string) demoStep { return demoStep{title: title, args: args} }

// exits makes s a step that shows a failure: the demo must exit with code.
func (s demoStep) exits(code int) demoStep { s.exit = code; return s }

// runSteps runs a demo's steps in order, each under a header that starts
// with name, and stops at the first step whose exit code is not the one the
// demo promises.
func runSteps(ctx context.Context, name string, run demoExec, steps ...demoStep) error {
	for _, s := range steps {
		header("%s: %s", name, s.title)
		got := run(ctx, s.args, os.Stdout, os.Stderr)
		if got != s.exit {
			return fmt.Errorf("%s %q exited with code %d, but %d was expected", name, strings.Join(s.args, " "), got, s.exit)
		}
		if got != 0 {
			fmt.Fprintf(os.Stderr, "(exit code %d, as expected)\n", got)
		}
	}
	return nil
}

// createIfMissing creates obj unless it exists already, so seeding is idempotent.
func createIfMissing(ctx context.Context, c client.Client, obj client.Object) error {
	if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

// ensureNamespace creates a namespace unless it exists and waits until the
// cluster has published its CA bundle (kube-root-ca.crt) into it, which
// kube-controller-manager does a moment after the namespace appears:
// demo 02 reads that bundle in every namespace.
func ensureNamespace(ctx context.Context, c client.Client, name string) error {
	if err := createIfMissing(ctx, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		return err
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: name, Name: "kube-root-ca.crt"}, &corev1.ConfigMap{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("waiting for kube-root-ca.crt in namespace %s: %w", name, err)
	}
	return nil
}

func seedPods(ctx context.Context, c client.Client) error {
	if err := ensureNamespace(ctx, c, demoNamespace); err != nil {
		return err
	}
	for i, app := range []string{"web", "web", "web", "db", "cache"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: demoNamespace,
				Name:      fmt.Sprintf("%s-%d", app, i),
				Labels:    map[string]string{"app": app, "app.kubernetes.io/part-of": "kubeworkshop-demo"},
			},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: workload.Image}}},
		}
		if err := createIfMissing(ctx, c, pod); err != nil {
			return err
		}
	}
	return nil
}

func seedBrokenCA(ctx context.Context, c client.Client) error {
	if err := ensureNamespace(ctx, c, caLabNamespace); err != nil {
		return err
	}
	return createIfMissing(ctx, c, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: caLabNamespace, Name: "broken-ca"},
		Data:       map[string]string{"ca.crt": "this is not a PEM certificate\n"},
	})
}
