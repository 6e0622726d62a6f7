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
	header("01 pod lister: every pod, listed with the controller-runtime client")
	if err := runDemo(ctx, "pod-lister", podlister.Exec, "--kubeconfig", kc, "-A"); err != nil {
		return err
	}
	header("01 pod lister: label selector app=web in %s, with the client-go clientset", demoNamespace)
	if err := runDemo(ctx, "pod-lister", podlister.Exec, "--kubeconfig", kc, "-n", demoNamespace, "-l", "app=web", "--client", "clientgo"); err != nil {
		return err
	}
	header("01 pod lister: pages of 2 pods (limit/continue); -v shows each page's continue token")
	return runDemo(ctx, "pod-lister", podlister.Exec, "--kubeconfig", kc, "-n", demoNamespace, "--page-size", "2", "-o", "name", "-v")
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
	header("02 typed ConfigMap: kube-root-ca.crt of every namespace, read into a typed struct")
	if err := runDemo(ctx, "typed-configmap", typedcm.Exec, "ca", "--kubeconfig", kc, "-A"); err != nil {
		return err
	}
	header("02 typed ConfigMap: a broken bundle in %s gets an invalid row and exit code 1", caLabNamespace)
	if err := expectFailure(ctx, typedcm.Exec, exitRuntime, "ca", "--kubeconfig", kc, "-n", caLabNamespace, "--name", "broken-ca"); err != nil {
		return err
	}
	header("02 typed ConfigMap: settings written with server-side apply, then read back")
	if err := runDemo(ctx, "typed-configmap", typedcm.Exec, "settings", "set", "--kubeconfig", kc, "-n", demoNamespace, "replicas=3", "debug=true", "refreshInterval=45s"); err != nil {
		return err
	}
	header("02 typed ConfigMap: a wrong-typed value is refused before anything is written (exit code 2)")
	if err := expectFailure(ctx, typedcm.Exec, exitUsage, "settings", "set", "--kubeconfig", kc, "-n", demoNamespace, "replicas=three"); err != nil {
		return err
	}
	return nil
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
	kc := p.KubeconfigPath()
	header("03 dynamic objects: the resources this server serves, from discovery")
	if err := runDemo(ctx, "dynamic-objects", dynobj.Exec, "resources", "--kubeconfig", kc); err != nil {
		return err
	}
	header("03 dynamic objects: 'po' resolved by the RESTMapper, read with the dynamic client")
	if err := runDemo(ctx, "dynamic-objects", dynobj.Exec, "get", "po", "--kubeconfig", kc, "-n", demoNamespace); err != nil {
		return err
	}
	header("03 dynamic objects: 'Node' by kind, read with the controller-runtime client as Unstructured")
	if err := runDemo(ctx, "dynamic-objects", dynobj.Exec, "get", "Node", "--kubeconfig", kc, "--client", "controller-runtime"); err != nil {
		return err
	}
	header("03 dynamic objects: an unknown resource exits 1 and suggests close matches")
	if err := expectFailure(ctx, dynobj.Exec, exitRuntime, "get", "pdos", "--kubeconfig", kc); err != nil {
		return err
	}
	manifest := filepath.Join(root, "demos", "03-dynamic-objects", "testdata", "widgets.yaml")
	header("03 dynamic objects: apply a CRD and its instances in one manifest (server-side apply)")
	if err := runDemo(ctx, "dynamic-objects", dynobj.Exec, "apply", "--kubeconfig", kc, "-n", demoNamespace, "-f", manifest); err != nil {
		return err
	}
	header("03 dynamic objects: the custom resource, unknown when the program was built")
	if err := runDemo(ctx, "dynamic-objects", dynobj.Exec, "get", "widgets", "--kubeconfig", kc, "-n", demoNamespace); err != nil {
		return err
	}
	header("03 dynamic objects: applying the same manifest again changes nothing")
	return runDemo(ctx, "dynamic-objects", dynobj.Exec, "apply", "--kubeconfig", kc, "-n", demoNamespace, "-f", manifest)
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

// runDemo runs a demo in-process, as its main would, and turns a non-zero exit into an
// error.
func runDemo(ctx context.Context, name string, run demoExec, args ...string) error {
	if code := run(ctx, args, os.Stdout, os.Stderr); code != 0 {
		return fmt.Errorf("%s %v exited with code %d", name, args, code)
	}
	return nil
}

// expectFailure runs a demo that is meant to fail, says whether it failed
// as expected, and returns an error when the exit code is not the one the
// demo promises.
func expectFailure(ctx context.Context, run demoExec, want int, args ...string) error {
	got := run(ctx, args, os.Stdout, os.Stderr)
	if got != want {
		return fmt.Errorf("demo %q exited %d, but %d was expected", strings.Join(args, " "), got, want)
	}
	fmt.Fprintf(os.Stderr, "(exit code %d, as expected)\n", got)
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
