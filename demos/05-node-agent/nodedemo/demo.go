package nodedemo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Namespace holds the demo's pods.
const Namespace = "nodeagent-demo"

// Config is what the demo needs: the repository, the cluster and the
// pinned kubectl; Header announces each step.
type Config struct {
	Root, Kubeconfig, Kubectl string
	NodeName                  string
	// NodeIP is where the agent advertises and serves logs: the address of
	// this machine that the API server reaches (cluster.Provider.HostIP).
	// Empty means the agent's default, loopback.
	NodeIP    string
	Clientset kubernetes.Interface
	Header    func(format string, args ...any)
	Out       io.Writer
}

// Demo shows a pod's whole life on the agent's node: a job-like pod runs
// to completion, a long-running one streams its log, a crashing one loops
// in CrashLoopBackOff; all are deleted gracefully, then the agent stops
// and the node goes NotReady. Everything it started is stopped on return.
func Demo(ctx context.Context, c Config) (err error) {
	cs := c.Clientset
	tmp, err := os.MkdirTemp("", "nodeagent-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	c.Header("05 node agent: compile the example programs to WebAssembly, and the agent")
	bin, err := Build(ctx, c.Root, tmp, c.Out)
	if err != nil {
		return err
	}
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	logDir := filepath.Join(c.Root, "_artifacts", "demo-node-agent")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(logDir, "agent.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	c.Header("05 node agent: start the agent as node %s (daemon port %d; its log: %s)", c.NodeName, port, logf.Name())
	// The agent's state goes with tmp, once the agent has stopped.
	proc, err := Start(bin, logf, c.agentArgs(filepath.Join(tmp, "state"), port, "-v", "1")...)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := proc.Stop(30 * time.Second); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	if err := WaitNode(ctx, cs, c.NodeName, corev1.ConditionTrue, proc.Exited()); err != nil {
		return err
	}
	kubectl := func(args ...string) error { return c.kubectl(ctx, args...) }
	if err := kubectl("get", "node", c.NodeName, "-o", "wide", "-L", "kubernetes.io/arch"); err != nil {
		return err
	}
	if err := kubectl("get", "lease", "-n", "kube-node-lease", c.NodeName); err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", Namespace, err)
	}
	pods := []*corev1.Pod{
		OnNode(Pod(Namespace, "hello", "hello", corev1.RestartPolicyNever, "workshop"), c.NodeName),
		OnNode(Pod(Namespace, "ticker", "ticker", corev1.RestartPolicyAlways), c.NodeName),
		OnNode(Pod(Namespace, "crasher", "fail", corev1.RestartPolicyAlways), c.NodeName),
	}
	for _, p := range pods {
		_ = cs.CoreV1().Pods(Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
		if err := waitGone(ctx, cs, p.Name); err != nil {
			return err
		}
	}

	c.Header("05 node agent: a job-like pod (restartPolicy Never) runs the hello module to completion")
	if err := create(ctx, cs, pods[0]); err != nil {
		return err
	}
	if _, err := WaitPod(ctx, cs, Namespace, "hello", 2*time.Minute, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded }); err != nil {
		return err
	}
	if err := kubectl("get", "pod", "-n", Namespace, "hello", "-o", "wide"); err != nil {
		return err
	}
	if err := kubectl("logs", "-n", Namespace, "hello"); err != nil {
		return err
	}

	c.Header("05 node agent: a long-running pod; `kubectl logs -f` streams through the API server from the agent")
	if err := create(ctx, cs, pods[1]); err != nil {
		return err
	}
	if _, err := WaitPod(ctx, cs, Namespace, "ticker", 2*time.Minute, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }); err != nil {
		return err
	}
	if err := c.followLines(ctx, 3, "logs", "-f", "-n", Namespace, "ticker"); err != nil {
		return err
	}

	c.Header("05 node agent: a module that exits 1 under restartPolicy Always ends in CrashLoopBackOff")
	if err := create(ctx, cs, pods[2]); err != nil {
		return err
	}
	if _, err := WaitPod(ctx, cs, Namespace, "crasher", 2*time.Minute, "CrashLoopBackOff after 2 restarts", func(p *corev1.Pod) bool {
		return Waiting(p) == "CrashLoopBackOff" && p.Status.ContainerStatuses[0].RestartCount >= 2
	}); err != nil {
		return err
	}
	if err := kubectl("get", "pods", "-n", Namespace, "-o", "wide"); err != nil {
		return err
	}
	if err := kubectl("logs", "-n", Namespace, "crasher", "--previous"); err != nil {
		return err
	}

	c.Header("05 node agent: delete the pods; the agent stops each module, reports it, then removes the pod (grace 0, UID precondition)")
	if err := kubectl("delete", "pods", "-n", Namespace, "--all", "--wait=true", "--timeout=60s"); err != nil {
		return err
	}

	c.Header("05 node agent: stop the agent with SIGTERM; the node goes NotReady")
	if err := proc.Stop(30 * time.Second); err != nil {
		return err
	}
	if err := WaitNode(ctx, cs, c.NodeName, corev1.ConditionFalse, nil); err != nil {
		return err
	}
	if err := kubectl("get", "node", c.NodeName); err != nil {
		return err
	}
	// A kubelet leaves its Node behind; the demo removes it, so the workshop
	// cluster (whose health check wants every node Ready) stays healthy.
	return kubectl("delete", "node", c.NodeName)
}

func create(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) error {
	if _, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod %s: %w", p.Name, err)
	}
	return nil
}

func waitGone(ctx context.Context, cs kubernetes.Interface, name string) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(Namespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func (c Config) kubectl(ctx context.Context, args ...string) error {
	fmt.Fprintf(c.Out, "$ kubectl %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, c.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = c.Out, c.Out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// followLines runs a following kubectl command and stops it after n lines.
func (c Config) followLines(ctx context.Context, n int, args ...string) error {
	fmt.Fprintf(c.Out, "$ kubectl %s   # stopped after %d lines\n", strings.Join(args, " "), n)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Stderr = c.Out
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	got := 0
	for got < n && sc.Scan() {
		fmt.Fprintln(c.Out, sc.Text())
		got++
	}
	cancel()
	_ = cmd.Wait()
	if got < n {
		return errors.New("kubectl logs -f ended before the log had " + fmt.Sprint(n) + " lines")
	}
	return nil
}

// agentArgs are AgentArgs for this demo's node, with its address.
func (c Config) agentArgs(stateDir string, port int, extra ...string) []string {
	if c.NodeIP != "" {
		extra = append([]string{"--node-ip", c.NodeIP}, extra...)
	}
	return AgentArgs(c.Kubeconfig, c.NodeName, c.Root, stateDir, port, extra...)
}

// agentAddr is where this demo's agent serves its kubelet API.
func (c Config) agentAddr(port int) string {
	ip := c.NodeIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}
