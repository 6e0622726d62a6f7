//go:build e2e

package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/exposure"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// markEnv is set to a value unique to one started target: every process it
// starts inherits it, even one that re-parents itself, so /proc tells
// exactly which processes the target left behind.
const markEnv = "KUBEWORKSHOP_LIFECYCLE_MARK"

// stopBound is the promise: everything is gone within 10 s.
const stopBound = 10 * time.Second

// interrupted ends when this test binary is asked to stop (the pipeline's
// SIGINT when a run is stopped). The waits below then fail at once, so
// that each test's cleanup stops its target and deletes its clusters,
// and tests not yet started are skipped.
var interrupted context.Context

func TestMain(m *testing.M) {
	ctx, stop := proc.NotifyContext(context.Background())
	interrupted = ctx
	code := m.Run()
	stop()
	os.Exit(code)
}

// skipIfInterrupted skips a test that would start something after the
// run was asked to stop.
func skipIfInterrupted(t *testing.T) {
	t.Helper()
	if interrupted.Err() != nil {
		t.Skip("the test run was interrupted")
	}
}

type target struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	mark string
	out  *bytes.Buffer
	// exited is closed once cmd has exited, with its error in err.
	exited chan struct{}
	err    error
}

// start runs `go tool mage name` from the repository root in a process
// group of its own (so only the signals the test sends reach it).
func start(t *testing.T, name string, env ...string) *target {
	t.Helper()
	skipIfInterrupted(t)
	root, err := repo.Root("")
	if err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprintf("%s-%d", strings.NewReplacer(":", "-").Replace(name), time.Now().UnixNano())
	cmd := exec.Command("go", "tool", "mage", name)
	cmd.Dir = root
	// Its reports and failure dumps go beside this suite's, not over the
	// outer run's (an interrupted unit stage would replace junit-unit.xml).
	artifacts := filepath.Join(e2e.ArtifactsDir(), "lifecycle", mark)
	cmd.Env = append(append(os.Environ(), markEnv+"="+mark, e2e.ArtifactsEnv+"="+artifacts), env...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tg := &target{t: t, name: name, cmd: cmd, mark: mark, out: out, exited: make(chan struct{})}
	go func() { tg.err = cmd.Wait(); close(tg.exited) }()
	t.Cleanup(func() {
		// Whatever happened, leave nothing of this target running.
		for _, pid := range tg.processes() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("output of go tool mage %s:\n%s", name, out)
		}
	})
	return tg
}

// processes lists the live processes carrying this target's mark.
func (tg *target) processes() []int {
	want := []byte(markEnv + "=" + tg.mark + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		if proc.Alive(pid) { // not a zombie waiting to be reaped
			pids = append(pids, pid)
		}
	}
	return pids
}

// eventually polls cond every 100 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		if interrupted.Err() != nil {
			t.Fatalf("interrupted while waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eventually is eventually for a condition the running target brings
// about: it fails at once, with the target's output, if the target exits
// first.
func (tg *target) eventually(timeout time.Duration, what string, cond func() bool) {
	tg.t.Helper()
	eventually(tg.t, timeout, what, func() bool {
		if cond() {
			return true
		}
		select {
		case <-tg.exited:
			tg.t.Fatalf("go tool mage %s exited (%v) before %s", tg.name, tg.err, what)
		default:
		}
		return false
	})
}

// stop sends sig to the top process alone and checks that within 10 s the
// top process has exited and no process of the target is left, except
// those keep says belong to something meant to outlive it.
func (tg *target) stop(sig syscall.Signal, keep func(pid int) bool) {
	t := tg.t
	t.Helper()
	if err := tg.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal the top process: %v", err)
	}
	var left []int
	for deadline := time.Now().Add(stopBound); ; time.Sleep(100 * time.Millisecond) {
		left = left[:0]
		for _, pid := range tg.processes() {
			if keep == nil || !keep(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after %v, the target left running:\n%s", stopBound, sig, describe(left))
		}
		if interrupted.Err() != nil {
			t.Fatalf("interrupted while the target stopped; it left running:\n%s", describe(left))
		}
	}
	select {
	case <-tg.exited:
	case <-time.After(stopBound):
		t.Fatalf("the top process had not exited %s after %v", stopBound, sig)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestSlidesServeStopsOnAnySignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			tg := start(t, "slides:serve", "SLIDES_ADDR="+addr)
			tg.eventually(3*time.Minute, "the slide server listens on "+addr, func() bool { return listening(addr) })
			// Loopback only, as it says.
			ls, err := exposure.Listeners(tg.processes())
			if err != nil {
				t.Fatal(err)
			}
			if exposed := exposure.Exposed(ls); len(exposed) > 0 {
				t.Errorf("slides:serve listens beyond loopback: %v", exposed)
			}
			tg.stop(sig, nil)
			if listening(addr) {
				t.Errorf("%s still accepts connections after the stop", addr)
			}
		})
	}
}

// describe names each process for a failure message: pid, parent,
// process group and command line.
func describe(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		pgid, _ := syscall.Getpgid(pid)
		fmt.Fprintf(&b, "  pid %d ppid %d pgid %d %s: %s\n", pid, parent(pid), pgid, command(pid),
			strings.Join(strings.Fields(strings.ReplaceAll(string(cmdline), "\x00", " ")), " "))
	}
	return b.String()
}

// parent is pid's parent pid, from /proc (0 if unknown).
func parent(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		if f := strings.Fields(s[i+1:]); len(f) > 1 {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// command is the name of pid's executable, from /proc.
func command(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func TestUnitTestsLeaveNoEnvtestOnSIGTERM(t *testing.T) {
	// The operator's unit tests start envtest control planes: etcd and
	// kube-apiserver, each in a process group of its own, which a test
	// binary stopped by a signal does not stop.
	// Killed, they also leave their files (etcd's data is over 100 MB):
	// the target's TMPDIR must be empty once it has stopped.
	tmp := t.TempDir()
	tg := start(t, "test", "TMPDIR="+tmp)
	tg.eventually(5*time.Minute, "an envtest etcd of the unit tests runs", func() bool {
		for _, pid := range tg.processes() {
			if command(pid) == "etcd" {
				return true
			}
		}
		return false
	})
	tg.stop(syscall.SIGTERM, nil)
	if left, err := os.ReadDir(tmp); err != nil || len(left) > 0 {
		names := make([]string, len(left))
		for i, e := range left {
			names[i] = e.Name()
		}
		t.Errorf("the stopped unit tests left files in TMPDIR %s: %v (err %v)", tmp, names, err)
	}
}

// requireKwok skips tests that create kwok clusters of their own.
func requireKwok(t *testing.T) {
	t.Helper()
	if p := os.Getenv("CLUSTER_PROVIDER"); p != "" && p != cluster.Kwok {
		t.Skipf("creates a kwok cluster of its own; CLUSTER_PROVIDER=%s", p)
	}
}

// clusterDir is where a kwok cluster's components run from: every one of
// them has it on its command line.
func clusterDir(t *testing.T, name string) string {
	t.Helper()
	root, err := binaries.CacheRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "kwok", "clusters", name) + "/"
}

func TestE2EDeletesTheClusterItCreatedOnSIGTERM(t *testing.T) {
	requireKwok(t)
	name := uniqueName("sigterm-e2e")
	p := ownCluster(t, name)
	tg := start(t, "e2e", "CLUSTER_NAME="+name, "SUITE=smoke")
	// Stop it while the suite's test binary runs against the new cluster.
	tg.eventually(5*time.Minute, "the smoke suite runs", func() bool {
		for _, pid := range tg.processes() {
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(cmdline, []byte("smoke.test")) {
				return true
			}
		}
		return false
	})
	tg.stop(syscall.SIGTERM, nil)
	if len(exposure.ProcessesMentioning(clusterDir(t, name))) != 0 {
		t.Errorf("processes of cluster %s are left", name)
	}
	if st, err := p.Status(context.Background()); err != nil || st.Exists {
		t.Errorf("the cluster e2e created still exists after SIGTERM (err %v)", err)
	}
}

// readmeCluster is the name of the kwok cluster the README suite of tg
// made, from its processes' command lines ("" while there is none).
func (tg *target) readmeCluster() string {
	for _, pid := range tg.processes() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if m := readmeClusterDir.FindSubmatch(cmdline); m != nil {
			return string(m[1])
		}
	}
	return ""
}

var readmeClusterDir = regexp.MustCompile(`/kwok/clusters/(readme-[0-9]+)/`)

func TestE2EStoppedInTheREADMEsLeavesNoClusterOfTheirs(t *testing.T) {
	// The README suite makes a kwok cluster of its own and deletes it when
	// stopped, after stopping the README command at work: that takes longer
	// than mage's 5-second grace, which used to cut it short.
	requireKwok(t)
	name := uniqueName("sigterm-readme")
	p := ownCluster(t, name)
	tg := start(t, "e2e", "CLUSTER_NAME="+name, "SUITE=readme")
	// Stop it once demo 01's README runs on that cluster: it has seeded
	// its namespace, with a nested `go tool mage` at work.
	var readme *cluster.Provider
	tg.eventually(10*time.Minute, "demo 01's README runs on the README suite's cluster", func() bool {
		if readme == nil {
			n := tg.readmeCluster()
			if n == "" {
				return false
			}
			readme = ownCluster(t, n)
		}
		return demoSeeded(readme)
	})
	tg.stop(syscall.SIGTERM, nil)
	for _, c := range []*cluster.Provider{readme, p} {
		if st, err := c.Status(context.Background()); err != nil || st.Exists {
			t.Errorf("cluster %s still exists after SIGTERM (err %v)", c.Name(), err)
		}
	}
}

func TestDemoLeavesItsClusterUpButNothingElseOnSIGTERM(t *testing.T) {
	requireKwok(t)
	name := uniqueName("sigterm-demo")
	p := ownCluster(t, name)
	tg := start(t, "demo:all", "CLUSTER_NAME="+name)
	dir := clusterDir(t, name)
	// The demos have started once demo 01 has seeded its namespace: the
	// cluster is no longer being created (a healthy cluster alone may still
	// be inside Up, whose interruption rightly deletes it).
	tg.eventually(5*time.Minute, "the demos run on the cluster", func() bool { return demoSeeded(p) })
	tg.stop(syscall.SIGTERM, func(pid int) bool {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return bytes.Contains(cmdline, []byte(dir))
	})
	// demo:* is meant to leave the cluster up for the next demo.
	if st, err := p.Status(context.Background()); err != nil || !st.Healthy {
		t.Errorf("demo:all's cluster is not up and healthy after SIGTERM: %+v, %v", st, err)
	}
}

// uniqueName is prefix with a number that keeps runs apart.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000)
}

// ownCluster is the cluster name (not created here) with opts, deleted
// when the test ends, whoever creates it.
func ownCluster(t *testing.T, name string, opts ...cluster.Option) *cluster.Provider {
	t.Helper()
	p, err := cluster.New(append([]cluster.Option{cluster.WithName(name), cluster.WithSwitchContext(false)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background()) })
	return p
}

// kwokCluster creates a small kwok cluster of the test's own, deleted when
// the test ends.
func kwokCluster(t *testing.T, prefix string) *cluster.Provider {
	t.Helper()
	requireKwok(t)
	skipIfInterrupted(t)
	p := ownCluster(t, uniqueName(prefix), cluster.WithNodes(1))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := context.AfterFunc(interrupted, cancel)
	defer stop()
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOperatorRunStopsOnSIGTERM(t *testing.T) {
	p := kwokCluster(t, "sigterm-op")
	cfg, err := p.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.Install(t.Context(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	probes := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	tg := start(t, "operator:run", "CLUSTER_NAME="+p.Name(), "KUBECONFIG=",
		"OPERATOR_FLAGS=--health-probe-bind-address "+probes+" --metrics-bind-address "+metrics)
	// /readyz answers once the operator's caches have synced: it is running.
	tg.eventually(5*time.Minute, "the operator is ready on "+probes, func() bool {
		resp, err := http.Get("http://" + probes + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	ls, err := exposure.Listeners(tg.processes())
	if err != nil {
		t.Fatal(err)
	}
	if exposed := exposure.Exposed(ls); len(exposed) > 0 {
		t.Errorf("operator:run listens beyond loopback: %v", exposed)
	}
	tg.stop(syscall.SIGTERM, nil)
	for _, addr := range []string{probes, metrics} {
		if listening(addr) {
			t.Errorf("%s still accepts connections after the stop", addr)
		}
	}
	// operator:run did not create the cluster: it must still be there.
	if st, err := p.Status(context.Background()); err != nil || !st.Healthy {
		t.Errorf("the cluster operator:run ran against is not healthy after its stop: %+v, %v", st, err)
	}
}

func TestBenchDeletesItsClusterOnSIGTERM(t *testing.T) {
	requireKwok(t)
	name := uniqueName("sigterm-bench")
	// bench:operator creates a dedicated cluster named CLUSTER_NAME-bench.
	p := ownCluster(t, name+"-bench")
	tg := start(t, "bench:operator", "CLUSTER_NAME="+name, "BENCH_PODSETS=100")
	// Stop it mid-benchmark: once its cluster has the benchmark's pods.
	tg.eventually(5*time.Minute, "the benchmark creates pods", func() bool {
		cs, ok := clientsetFor(p)
		if !ok {
			return false
		}
		pods, err := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{Limit: 1})
		return err == nil && len(pods.Items) > 0
	})
	tg.stop(syscall.SIGTERM, nil)
	if len(exposure.ProcessesMentioning(clusterDir(t, p.Name()))) != 0 {
		t.Errorf("processes of cluster %s are left", p.Name())
	}
	if st, err := p.Status(context.Background()); err != nil || st.Exists {
		t.Errorf("the cluster bench:operator created still exists after SIGTERM (err %v)", err)
	}
}

// clientsetFor connects to p's cluster; false while it has no kubeconfig yet.
func clientsetFor(p *cluster.Provider) (kubernetes.Interface, bool) {
	cfg, err := p.RESTConfig()
	if err != nil {
		return nil, false
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return cs, err == nil
}

// demoSeeded reports whether demo 01 has seeded its namespace on p's
// cluster: the demos run there.
func demoSeeded(p *cluster.Provider) bool {
	cs, ok := clientsetFor(p)
	if !ok {
		return false
	}
	_, err := cs.CoreV1().Namespaces().Get(context.Background(), "workshop-demo", metav1.GetOptions{})
	return err == nil
}

// kindContainers lists the containers of kind cluster name.
func kindContainers(t *testing.T, name string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster="+name, "--format", "{{.Names}}").Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

func TestKindCreationStoppedOnSIGTERMLeavesNoNodes(t *testing.T) {
	if p := os.Getenv("CLUSTER_PROVIDER"); p != cluster.Kind {
		t.Skipf("kind only: interrupts the creation of a kind cluster; CLUSTER_PROVIDER=%q", p)
	}
	name := uniqueName("sigterm-kind")
	t.Cleanup(func() {
		if left := kindContainers(t, name); len(left) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, left...)...).Run()
		}
	})
	tg := start(t, "cluster:up", "CLUSTER_PROVIDER=kind", "CLUSTER_NAME="+name)
	// kind's Create takes no context: stop it once it has made a node.
	tg.eventually(5*time.Minute, "kind creates a node container", func() bool { return len(kindContainers(t, name)) > 0 })
	tg.stop(syscall.SIGTERM, nil)
	if left := kindContainers(t, name); len(left) > 0 {
		t.Errorf("node containers left after SIGTERM during creation: %v", left)
	}
}
