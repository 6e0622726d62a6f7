package nodedemo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agent"
	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/modules"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// Build fills the module store and compiles the agent into dir; it returns
// the agent binary's path. root is the repository root.
func Build(ctx context.Context, root, dir string, log io.Writer) (string, error) {
	src := filepath.Join(root, "demos", "05-node-agent")
	if err := modules.Build(ctx, filepath.Join(src, "modules"), filepath.Join(root, agent.DefaultModuleDir), log); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "node-agent")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./demos/05-node-agent")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the node agent: %w", err)
	}
	return bin, nil
}

// Start runs the agent binary with args in the background, its output
// going to log. The agent runs in its own process group and gets SIGTERM if
// this process dies, so it never outlives the demo; Stop sends SIGTERM and
// waits for it to report its pods and exit.
func Start(bin string, log io.Writer, args ...string) (*proc.Process, error) {
	return proc.Start("node agent", bin, log, args...)
}

// AgentArgs are the flags to run an agent as node name on kubeconfig, with
// the module store of the repository at root, its state (pod logs, compiled
// modules) in stateDir, and a short restart back-off so a crash loop shows
// within seconds. The caller owns stateDir and removes it when done.
func AgentArgs(kubeconfig, name, root, stateDir string, port int, extra ...string) []string {
	return append([]string{
		"--kubeconfig", kubeconfig, "--node-name", name, "--port", strconv.Itoa(port),
		"--module-dir", filepath.Join(root, agent.DefaultModuleDir),
		"--root-dir", stateDir,
		"--crash-loop-backoff", "2s", "--crash-loop-backoff-max", "20s",
	}, extra...)
}

// OnNode pins a pod to one node by its hostname label, for a cluster
// where several agents run.
func OnNode(p *corev1.Pod, node string) *corev1.Pod {
	p.Spec.NodeSelector[corev1.LabelHostname] = node
	return p
}

// Pod is a pod for the agent's node: it selects the wasm arch and
// tolerates the node's taint; image names a module of the store.
func Pod(ns, name, image string, policy corev1.RestartPolicy, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/part-of": "kubeworkshop-demo"}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 policy,
			NodeSelector:                  map[string]string{corev1.LabelArchStable: agent.Arch},
			Tolerations:                   []corev1.Toleration{agent.WasmToleration},
			TerminationGracePeriodSeconds: ptr(int64(10)),
			Containers:                    []corev1.Container{{Name: "app", Image: image, Args: args}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// WaitPod polls pod ns/name until ok says so, at most timeout.
func WaitPod(ctx context.Context, cs kubernetes.Interface, ns, name string, timeout time.Duration, what string, ok func(*corev1.Pod) bool) (*corev1.Pod, error) {
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return ok(p), nil
	})
	if err != nil {
		phase := "not found"
		if last != nil {
			phase = string(last.Status.Phase)
		}
		return last, fmt.Errorf("pod %s/%s: waiting for %s (phase %s): %w", ns, name, what, phase, err)
	}
	return last, nil
}

// NodeReady reports the node's Ready condition ("" if it has none or is missing).
func NodeReady(ctx context.Context, cs kubernetes.Interface, name string) corev1.ConditionStatus {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// WaitNode waits until the node's Ready condition is want, or the agent exits.
func WaitNode(ctx context.Context, cs kubernetes.Interface, name string, want corev1.ConditionStatus, agentExited <-chan struct{}) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-agentExited:
			return false, errors.New("the node agent exited")
		default:
		}
		return NodeReady(ctx, cs, name) == want, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for node %s to be Ready=%s: %w", name, want, err)
	}
	return nil
}

// Waiting is the reason a pod's first container waits, or "".
func Waiting(p *corev1.Pod) string {
	if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
		return ""
	}
	return p.Status.ContainerStatuses[0].State.Waiting.Reason
}
