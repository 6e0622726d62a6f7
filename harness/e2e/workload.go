package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/workload"
)

// WorkloadLabel starts the reason of every spec skipped by RequireWorkload.
const WorkloadLabel = "workload image"

// workloadWait is how long RequireWorkload waits for the nodes to report
// the image: the kubelet refreshes its image list every 30 s or so, so an
// image loaded just now is not in the node's status at once.
const workloadWait = 75 * time.Second

// RequireWorkload skips the current spec, with a reason that starts with
// WorkloadLabel and says how to fix it, unless every real node that runs
// pods has the workload image (harness/workload).
// Specs whose pods must actually run call it first: on a node without
// the image they would wait for a pull that never succeeds. The harness
// loads the image into the kind clusters it creates, and kwok never pulls;
// a cluster the workshop did not create (CLUSTER_PROVIDER=existing) has it
// only if its owner loaded it (see the README). It waits up to 75 s for
// the nodes to report an image loaded just before, once per suite: after
// that, a missing image skips at once.
func (s *Suite) RequireWorkload(ctx context.Context) {
	s.mu.Lock()
	known := s.noWorkload
	s.mu.Unlock()
	if known != "" {
		ginkgo.Skip(known)
	}
	var reason string
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, workloadWait, true, func(ctx context.Context) (bool, error) {
		nodes, err := s.clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, fmt.Errorf("list nodes: %w", err)
		}
		reason = MissingWorkload(nodes.Items)
		return reason == "", nil
	})
	if reason == "" && err != nil {
		ginkgo.Fail(err.Error())
	}
	if reason != "" {
		reason = fmt.Sprintf("%s (waited %s)", reason, workloadWait)
		s.mu.Lock()
		s.noWorkload = reason
		s.mu.Unlock()
		ginkgo.Skip(reason)
	}
}

// MissingWorkload returns why the workload image cannot run on nodes, or
// "" when it can: every real node that accepts pods (neither simulated by
// kwok, nor cordoned, nor tainted NoSchedule/NoExecute) lists
// workload.Image in its status. Its other names come with it, from the
// same archive, but the kubelet reports only 5 names per image (and only
// the 50 largest images: a node with many more may hide the small
// workload).
func MissingWorkload(nodes []corev1.Node) string {
	var lacking []string
	for _, n := range nodes {
		if !RunsRealPods(n) {
			continue
		}
		found := slices.ContainsFunc(n.Status.Images, func(img corev1.ContainerImage) bool {
			return slices.Contains(img.Names, workload.Image)
		})
		if !found {
			lacking = append(lacking, n.Name)
		}
	}
	if len(lacking) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %s is not on node(s) %s; for a kind cluster, load it with `$(go tool mage bin)/kind load image-archive \"$(go tool mage kind:workload | tail -1)\" --name CLUSTER`",
		WorkloadLabel, workload.Image, strings.Join(lacking, ", "))
}

// RunsRealPods reports whether n runs real pods: it is not simulated by
// kwok, is Ready and schedulable, and has no taint that keeps pods away.
func RunsRealPods(n corev1.Node) bool {
	if n.Annotations["kwok.x-k8s.io/node"] != "" || n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// OnKind reports whether the cluster's nodes are kind's node containers:
// some node carries kind's provider ID (cluster.IsKindNode). That
// holds for the kind clusters the harness creates and for a kind cluster
// used with CLUSTER_PROVIDER=existing.
func (s *Suite) OnKind(ctx context.Context) bool {
	ginkgo.GinkgoHelper()
	nodes, err := s.clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		ginkgo.Fail(fmt.Sprintf("list nodes: %v", err))
	}
	return slices.ContainsFunc(nodes.Items, func(n corev1.Node) bool { return cluster.IsKindNode(&n) })
}
