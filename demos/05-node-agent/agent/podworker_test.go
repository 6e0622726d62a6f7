package agent

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
)

// newTestWorker returns a pod worker for pod on a fake API server, with
// the real module store and a fast back-off.
func newTestWorker(t *testing.T, pod *corev1.Pod) (*podWorker, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(pod)
	rt := &deps{
		cs: cs, store: newTestStore(t), logs: NewLogs(t.TempDir()), hostIP: "127.0.0.1",
		backoff: Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}, volumeRoot: t.TempDir(), defaultMemory: 64 << 20,
	}
	return newPodWorker(rt, testr.New(t)), cs
}

func testPod(image string, policy corev1.RestartPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-1"},
		Spec:       corev1.PodSpec{NodeName: "n", RestartPolicy: policy, Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

// waitStatus polls the fake API until ok accepts the pod's status.
func waitStatus(t *testing.T, cs *fake.Clientset, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods("ns").Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return ok(p), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last status %+v", what, err, last.Status)
	}
	return last
}

func TestWorkerRunsAJobToSucceeded(t *testing.T) {
	pod := testPod("hello", corev1.RestartPolicyNever)
	w, cs := newTestWorker(t, pod)
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); <-w.done }()
	go w.run(ctx, pod)
	p := waitStatus(t, cs, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("container state %+v", p.Status.ContainerStatuses[0].State)
	}
}

func TestWorkerCrashLoopsThenDeletesGracefully(t *testing.T) {
	pod := testPod("fail", corev1.RestartPolicyAlways)
	w, cs := newTestWorker(t, pod)
	go w.run(t.Context(), pod)
	waitStatus(t, cs, "two restarts", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 2
	})

	deleting := pod.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp, deleting.DeletionGracePeriodSeconds = &now, ptrTo[int64](30)
	w.update(deleting)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not finish the deletion")
	}
	var deleted bool
	for _, a := range cs.Actions() {
		if a.GetVerb() == "delete" && a.GetResource().Resource == "pods" {
			deleted = true
		}
	}
	if !deleted {
		t.Error("the worker never deleted the pod")
	}
}

func TestWorkerReportsAgentStop(t *testing.T) {
	pod := testPod("ticker", corev1.RestartPolicyAlways)
	w, cs := newTestWorker(t, pod)
	ctx, cancel := context.WithCancel(t.Context())
	go w.run(ctx, pod)
	waitStatus(t, cs, "Running", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	cancel()
	<-w.done
	p, err := cs.CoreV1().Pods("ns").Get(t.Context(), "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 137 || term.Message != "stopped: the node agent stopped" {
		t.Errorf("after the agent stopped: %+v", p.Status.ContainerStatuses[0].State)
	}

	// A new agent adopts it: one more restart, the stopped run as lastState.
	if s, ok := adopt(p, "app", Backoff{}).(Resolving); !ok || s.Restarts != 1 || s.Last == nil || s.Last.ExitCode != 137 {
		t.Errorf("adopted as %#v", s)
	}
}

func TestWorkerRejectsUnsupportedPods(t *testing.T) {
	pod := testPod("hello", corev1.RestartPolicyNever)
	pod.Spec.HostNetwork = true
	w, cs := newTestWorker(t, pod)
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); <-w.done }()
	go w.run(ctx, pod)
	p := waitStatus(t, cs, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != "UnsupportedPodSpec" {
		t.Errorf("reason %q", p.Status.Reason)
	}
}

func TestWorkerDeletesAPodThatHadEnded(t *testing.T) {
	pod := testPod("hello", corev1.RestartPolicyNever)
	w, cs := newTestWorker(t, pod)
	go w.run(t.Context(), pod)
	waitStatus(t, cs, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	deleting := pod.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	w.update(deleting)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not delete a pod whose containers had ended")
	}
	if _, err := cs.CoreV1().Pods("ns").Get(t.Context(), "p", metav1.GetOptions{}); err == nil {
		t.Error("the pod is still there")
	}
}

func TestWorkerForgetsAPodRemovedFromTheAPI(t *testing.T) {
	pod := testPod("hello", corev1.RestartPolicyNever)
	w, cs := newTestWorker(t, pod)
	go w.run(t.Context(), pod)
	waitStatus(t, cs, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	w.update(nil)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not end for a pod that is gone")
	}
}

func TestWorkerFinishesAPodDeletedWhileTheAgentWasAway(t *testing.T) {
	pod := testPod("ticker", corev1.RestartPolicyAlways)
	now := metav1.Now()
	pod.DeletionTimestamp = &now
	w, cs := newTestWorker(t, pod)
	w.run(t.Context(), pod) // returns: nothing to run
	if n := len(cs.Actions()); n != 1 || cs.Actions()[0].GetVerb() != "delete" {
		t.Errorf("actions %v, want one delete", cs.Actions())
	}
	if _, err := cs.CoreV1().Pods("ns").Get(t.Context(), "p", metav1.GetOptions{}); err == nil {
		t.Error("the pod is still there")
	}
}
