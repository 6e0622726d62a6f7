package nodedemo

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agent"
	"github.com/kubeworkshop/kubeworkshop/harness/bench"
	"github.com/kubeworkshop/kubeworkshop/harness/measure"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// BenchNamespace holds the benchmark's pods; it is deleted before and after.
const BenchNamespace = "nodeagent-bench"

// Benchmark sizes and the goals (reported, never asserted).
const (
	benchShort       = 200
	benchLong        = 50
	goalSettle       = 30 * time.Second
	goalIdleRSS      = 60 << 20
	benchPollPeriod  = 100 * time.Millisecond
	benchCreateLimit = 16 // parallel creates
)

// Bench starts an agent, creates 200 short-lived and 50 long-running wasm
// pods bound to its node, and prints a table: time until all settled
// (Succeeded or Running), the agent's RSS idle and at its peak, the linear
// memory one running module costs, compilations, and CPU seconds.
func Bench(ctx context.Context, c Config) (err error) {
	cs := c.Clientset
	tmp, err := os.MkdirTemp("", "nodeagent-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	c.Header("bench: building the modules and the agent")
	bin, err := Build(ctx, c.Root, tmp, c.Out)
	if err != nil {
		return err
	}
	if err := deleteNamespace(ctx, c); err != nil {
		return err
	}
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(tmp, "agent.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	proc, err := Start(bin, logf, c.agentArgs(filepath.Join(tmp, "state"), port,
		"--max-pods", "400", "--kube-api-qps", "500", "--kube-api-burst", "1000")...)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := proc.Stop(time.Minute); stopErr != nil && err == nil {
			err = stopErr
		}
		_ = deleteNamespace(context.WithoutCancel(ctx), c)
		_ = cs.CoreV1().Nodes().Delete(context.WithoutCancel(ctx), c.NodeName, metav1.DeleteOptions{})
	}()
	if err := WaitNode(ctx, cs, c.NodeName, corev1.ConditionTrue, proc.Exited()); err != nil {
		return fmt.Errorf("%w (agent log: %s)", err, logf.Name())
	}
	idle, err := measure.PeakRSS(proc.Pid())
	if err != nil {
		return err
	}
	cpu0, err := cpuSeconds(proc.Pid())
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: BenchNamespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", BenchNamespace, err)
	}

	c.Header("bench: %d short-lived (hello) and %d long-running (ticker) pods on node %s", benchShort, benchLong, c.NodeName)
	start := time.Now()
	err = measure.Parallel(ctx, benchShort+benchLong, benchCreateLimit, func(ctx context.Context, i int) error {
		p := Pod(BenchNamespace, fmt.Sprintf("short-%d", i), "hello", corev1.RestartPolicyNever)
		if i >= benchShort {
			p = Pod(BenchNamespace, fmt.Sprintf("long-%d", i-benchShort), "ticker", corev1.RestartPolicyAlways)
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "INTERVAL", Value: "5s"}}
		}
		p.Spec.NodeName = c.NodeName // bound directly: the scheduler is not what we measure
		_, err := cs.CoreV1().Pods(BenchNamespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("create bench pods: %w", err)
	}
	created := time.Since(start)
	var succeeded, running int
	err = wait.PollUntilContextTimeout(ctx, benchPollPeriod, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := cs.CoreV1().Pods(BenchNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		succeeded, running = 0, 0
		for _, p := range l.Items {
			switch {
			case p.Status.Phase == corev1.PodSucceeded:
				succeeded++
			case p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil:
				running++
			}
		}
		return succeeded == benchShort && running == benchLong, nil
	})
	settled := time.Since(start)
	if err != nil {
		return fmt.Errorf("waiting for the pods to settle: %d/%d Succeeded, %d/%d Running after %v: %w (agent log: %s)", succeeded, benchShort, running, benchLong, settled.Round(time.Millisecond), err, logf.Name())
	}
	peak, err := measure.PeakRSS(proc.Pid())
	if err != nil {
		return err
	}
	cpu1, err := cpuSeconds(proc.Pid())
	if err != nil {
		return err
	}
	rssNow, err := currentRSS(proc.Pid())
	if err != nil {
		return err
	}
	perModule, err := moduleMemory(ctx, c.agentAddr(port))
	if err != nil {
		return err
	}
	compiles, err := metric(ctx, c.agentAddr(port), "nodeagent_module_compilations_total")
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(c.Out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tVALUE\tGOAL")
	fmt.Fprintf(tw, "pods created (%d short + %d long), parallel %d\t%v\t\n", benchShort, benchLong, benchCreateLimit, created.Round(time.Millisecond))
	fmt.Fprintf(tw, "create → all Succeeded/Running\t%v\t≤ %v: %s\n", settled.Round(time.Millisecond), goalSettle, bench.Verdict(settled <= goalSettle))
	fmt.Fprintf(tw, "agent RSS, no pods (peak until Ready)\t%s\t≤ %s: %s\n", bench.MiB(idle), bench.MiB(goalIdleRSS), bench.Verdict(idle <= goalIdleRSS))
	fmt.Fprintf(tw, "agent peak RSS (VmHWM)\t%s\t\n", bench.MiB(peak))
	fmt.Fprintf(tw, "agent RSS with %d modules running\t%s\t\n", benchLong, bench.MiB(rssNow))
	fmt.Fprintf(tw, "RSS per running module ((now - idle) / %d)\t%s\t\n", benchLong, bench.MiB((rssNow-idle)/benchLong))
	fmt.Fprintf(tw, "linear memory per running module (/stats/summary)\t%s\t\n", bench.MiB(perModule))
	fmt.Fprintf(tw, "module compilations for %d pods\t%.0f\tshared: %s\n", benchShort+benchLong, compiles, bench.Verdict(compiles <= 2))
	fmt.Fprintf(tw, "agent CPU seconds (user+system)\t%.2f s\t\n", cpu1-cpu0)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.Out, "(figures only; the benchmark never fails on them)")
	return nil
}

func deleteNamespace(ctx context.Context, c Config) error {
	err := c.Clientset.CoreV1().Namespaces().Delete(ctx, BenchNamespace, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", BenchNamespace, err)
	}
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.Clientset.CoreV1().Namespaces().Get(ctx, BenchNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// The API server's node proxy refuses nodes on loopback ("address not
// allowed"), so the benchmark asks its own agent directly.
func agentGet(ctx context.Context, addr, path string) ([]byte, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the agent's self-signed certificate, on this host
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the agent for %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask the agent for %s: %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// moduleMemory averages the linear memory of the running pods, from the
// agent's /stats/summary.
func moduleMemory(ctx context.Context, addr string) (int64, error) {
	raw, err := agentGet(ctx, addr, "/stats/summary")
	if err != nil {
		return 0, err
	}
	var s agent.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	if len(s.Pods) == 0 {
		return 0, fmt.Errorf("/stats/summary lists no running pods")
	}
	return int64(s.Node.Memory.WorkingSetBytes) / int64(len(s.Pods)), nil
}

// metric reads one unlabelled value from the agent's /metrics.
func metric(ctx context.Context, addr, name string) (float64, error) {
	raw, err := agentGet(ctx, addr, "/metrics")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// cpuSeconds is the user and system CPU time of a process (/proc/PID/stat).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseCPU(string(b))
}

// parseCPU reads utime and stime (fields 14 and 15, in clock ticks of
// 1/100 s) from a /proc/PID/stat line.
func parseCPU(stat string) (float64, error) {
	// The command name is in parentheses and may hold spaces: count after it.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || i+2 > len(stat) {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	f := strings.Fields(stat[i+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// currentRSS is a process's resident memory now (VmRSS), in bytes.
func currentRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
