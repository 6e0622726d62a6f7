package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/config"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/image"
)

// The in-cluster operator's objects (config/manager, config/default).
const (
	Namespace      = "podset-operator-system"
	DeploymentName = "podset-operator"
	ContainerName  = "manager"
	MetricsService = "podset-operator-metrics"
	// MetricsReaderRole is the ClusterRole that may GET /metrics.
	MetricsReaderRole = "podset-operator-metrics-reader"
	// LeaseName is the leader-election Lease the replicas compete for, in
	// Namespace.
	LeaseName = "podset-operator.workshop.example.com"
)

// ImageDigestAnnotation on the pod template records the image's digest, so
// that a rebuilt image loaded under the same tag rolls the pods.
const ImageDigestAnnotation = "workshop.example.com/image-digest"

// ImageLoader puts an image archive into every node of a cluster; a
// harness/cluster Provider is one. LoadsImages is nil when it can, and
// otherwise says why not and what to do instead.
type ImageLoader interface {
	LoadsImages() error
	LoadImage(ctx context.Context, archive string) error
}

// DeployOptions configures Deploy.
type DeployOptions struct {
	// Image is the reference the Deployment runs (default image.DefaultTag).
	Image string
	// Digest, when set, goes into the pod template (ImageDigestAnnotation).
	Digest string
	// Replicas overrides config/manager's replica count when not nil.
	Replicas *int32
	// Args are appended to the manager's command line.
	Args []string
	// Timeout bounds the wait until the Deployment is Available (default 3
	// minutes).
	Timeout time.Duration
	// Out receives a line per step (default io.Discard).
	Out io.Writer
}

func (o *DeployOptions) defaults() {
	if o.Image == "" {
		o.Image = image.DefaultTag
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}

// BuildAndDeploy is `go tool mage operator:deploy`: it asks loader whether
// the cluster can run a local image at all (kwok cannot: that fails here,
// before anything is built), builds the operator's image into archive,
// loads it into every node and deploys it (Deploy).
func BuildAndDeploy(ctx context.Context, cfg *rest.Config, loader ImageLoader, build image.Options, o DeployOptions) error {
	o.defaults()
	if err := loader.LoadsImages(); err != nil {
		return fmt.Errorf("deploy the operator in-cluster: %w (here, run it as a process instead: go tool mage operator:install operator:run)", err)
	}
	if build.Tag == "" {
		build.Tag = o.Image
	}
	o.Image = build.Tag
	digest, err := image.Build(ctx, build)
	if err != nil {
		return err
	}
	o.Digest = digest.String()
	start := time.Now()
	if err := loader.LoadImage(ctx, build.Out); err != nil {
		return fmt.Errorf("load the operator image: %w", err)
	}
	fmt.Fprintf(o.Out, "loaded %s@%s into the cluster's nodes in %s\n", o.Image, digest, time.Since(start).Round(time.Millisecond))
	return Deploy(ctx, cfg, o)
}

// Deploy applies config/default with the image reference set: the CRDs,
// the namespace, the RBAC (the generated ClusterRole and Role, nothing
// more), the Deployment and the metrics Service. It then waits until the
// Deployment is Available with every replica updated, and says how long
// that took. The image must already be on the nodes (BuildAndDeploy).
func Deploy(ctx context.Context, cfg *rest.Config, o DeployOptions) error {
	o.defaults()
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return fmt.Errorf("create client for %s: %w", cfg.Host, err)
	}
	if err := Install(ctx, cfg, o.Out); err != nil {
		return err
	}
	objs, err := Manifests(o)
	if err != nil {
		return err
	}
	start := time.Now()
	for _, u := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), FieldOwner, client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(u), err)
		}
		fmt.Fprintf(o.Out, "applied %s %s\n", u.GetKind(), client.ObjectKeyFromObject(u))
	}
	if err := WaitAvailable(ctx, c, o.Timeout); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "deployment %s/%s is Available (%s) %s after applying it\n", Namespace, DeploymentName, o.Image, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// Manifests returns the objects of config/manager (the Deployment) and
// config/default (the metrics Service) that Install does not apply, with
// the Deployment's image, replicas, extra arguments and digest annotation
// set from o.
func Manifests(o DeployOptions) ([]*unstructured.Unstructured, error) {
	o.defaults()
	manager, err := config.File("manager/manager.yaml")
	if err != nil {
		return nil, err
	}
	svc, err := config.File("default/metrics_service.yaml")
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, m := range [][]byte{manager, svc} {
		objs, err := Decode(m)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	found := false
	for _, u := range out {
		if u.GetKind() != "Deployment" || u.GetName() != DeploymentName {
			continue
		}
		found = true
		if err := customize(u, o); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("config/manager/manager.yaml has no Deployment %s", DeploymentName)
	}
	return out, nil
}

func customize(u *unstructured.Unstructured, o DeployOptions) error {
	path := []string{"spec", "template", "spec", "containers"}
	containers, _, err := unstructured.NestedSlice(u.Object, path...)
	if err != nil {
		return fmt.Errorf("deployment %s: %w", DeploymentName, err)
	}
	var ctr map[string]any
	for _, c := range containers {
		if m, ok := c.(map[string]any); ok && m["name"] == ContainerName {
			ctr = m
		}
	}
	if ctr == nil {
		return fmt.Errorf("deployment %s has no container %q", DeploymentName, ContainerName)
	}
	ctr["image"] = o.Image
	if len(o.Args) > 0 {
		args, _, _ := unstructured.NestedStringSlice(ctr, "args")
		ctr["args"] = toAny(append(args, o.Args...))
	}
	if err := unstructured.SetNestedSlice(u.Object, containers, path...); err != nil {
		return err
	}
	if o.Replicas != nil {
		if err := unstructured.SetNestedField(u.Object, int64(*o.Replicas), "spec", "replicas"); err != nil {
			return err
		}
	}
	if o.Digest != "" {
		if err := unstructured.SetNestedField(u.Object, o.Digest, "spec", "template", "metadata", "annotations", ImageDigestAnnotation); err != nil {
			return err
		}
	}
	return nil
}

// WaitAvailable waits until the operator's Deployment has rolled out: its
// controller has seen the latest spec, every replica runs the latest
// template and is available, and the Available condition is True (what
// `kubectl rollout status` waits for). When the time is up it says what
// the pods are stuck on (an image that is not on the node, a crash loop).
func WaitAvailable(ctx context.Context, c client.Client, timeout time.Duration) error {
	key := client.ObjectKey{Namespace: Namespace, Name: DeploymentName}
	var d appsv1.Deployment
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, &d); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return RolledOut(&d), nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("wait for deployment %s to be Available: %w", key, err)
	}
	return fmt.Errorf("deployment %s is not Available after %s (%d/%d replicas available): %s",
		key, timeout, d.Status.AvailableReplicas, ptrDeref(d.Spec.Replicas), podProblems(context.WithoutCancel(ctx), c))
}

// RolledOut reports whether the Deployment's latest spec is fully rolled
// out and Available.
func RolledOut(d *appsv1.Deployment) bool {
	want := ptrDeref(d.Spec.Replicas)
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != want ||
		d.Status.Replicas != want || d.Status.AvailableReplicas != want {
		return false
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ptrDeref(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// podProblems describes why the operator's pods are not ready, for an
// error message.
func podProblems(ctx context.Context, c client.Client) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(Namespace), client.MatchingLabels{"app.kubernetes.io/name": DeploymentName}); err != nil {
		return fmt.Sprintf("cannot list its pods: %v", err)
	}
	if len(pods.Items) == 0 {
		return "it has no pods; see `kubectl -n " + Namespace + " describe deployment " + DeploymentName + "`"
	}
	var lines []string
	for _, p := range pods.Items {
		line := fmt.Sprintf("pod %s is %s", p.Name, p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			switch {
			case cs.State.Waiting != nil:
				line += fmt.Sprintf(", container %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil:
				line += fmt.Sprintf(", container %s terminated: %s (exit %d)", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
			case !cs.Ready:
				line += fmt.Sprintf(", container %s not ready (restarts: %d)", cs.Name, cs.RestartCount)
			}
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ") + "; an image that is not on the node shows as ErrImageNeverPull or ImagePullBackOff: " +
		"load it with `go tool mage operator:deploy`; for a crash see `kubectl -n " + Namespace + " logs deploy/" + DeploymentName + "`"
}

// ErrPodSetsLeft means Undeploy found PodSets: without the operator their
// finalizer would keep them (and their namespaces) from being deleted.
var ErrPodSetsLeft = errors.New("PodSets still exist")

// Undeploy removes what Deploy applied except the CRDs: the operator's
// namespace (Deployment, Service, ServiceAccount, Role, RoleBindings,
// Lease) and its ClusterRoles and ClusterRoleBinding. It refuses while
// PodSets exist, because the operator must run to release their
// finalizer. It waits until the namespace is gone.
func Undeploy(ctx context.Context, cfg *rest.Config, out io.Writer) error {
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return fmt.Errorf("create client for %s: %w", cfg.Host, err)
	}
	var sets workshopv1alpha1.PodSetList
	if err := c.List(ctx, &sets); err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
		return fmt.Errorf("list PodSets: %w", err)
	}
	if n := len(sets.Items); n > 0 {
		return fmt.Errorf("%w (%d, e.g. %s/%s): delete them first while the operator runs (kubectl delete podsets --all -A), so that it can release their finalizer",
			ErrPodSetsLeft, n, sets.Items[0].Namespace, sets.Items[0].Name)
	}
	for _, obj := range []client.Object{
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: DeploymentName}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: DeploymentName}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: MetricsReaderRole}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}},
	} {
		if err := c.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete %T %s: %w", obj, obj.GetName(), err)
		}
		fmt.Fprintf(out, "deleted %s %s\n", strings.TrimPrefix(fmt.Sprintf("%T", obj), "*v1."), obj.GetName())
	}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Name: Namespace}, &corev1.Namespace{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		return fmt.Errorf("wait for namespace %s to be deleted: %w", Namespace, err)
	}
	fmt.Fprintf(out, "namespace %s is gone; the CRDs stay (kubectl delete -f %s)\n", Namespace, filepath.Join(config.Dir, "crd", "bases"))
	return nil
}

// OperatorImage is where BuildAndDeploy and `operator:image` write the
// image tarball under the repository root.
func OperatorImage(root string) string {
	return filepath.Join(root, "_artifacts", "podset-operator.tar")
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
