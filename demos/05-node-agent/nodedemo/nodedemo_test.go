package nodedemo

import (
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/agent"
)

func TestPodTargetsTheWasmNode(t *testing.T) {
	p := OnNode(Pod("ns", "p", "hello", corev1.RestartPolicyNever, "a"), "wasm-0")
	if p.Spec.NodeSelector[corev1.LabelArchStable] != agent.Arch || p.Spec.NodeSelector[corev1.LabelHostname] != "wasm-0" {
		t.Errorf("node selector %v", p.Spec.NodeSelector)
	}
	if len(p.Spec.Tolerations) != 1 || p.Spec.Tolerations[0] != agent.WasmToleration {
		t.Errorf("tolerations %v", p.Spec.Tolerations)
	}
	if c := p.Spec.Containers[0]; c.Image != "hello" || len(c.Args) != 1 || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("container %+v, policy %s", c, p.Spec.RestartPolicy)
	}
}

func TestParseCPU(t *testing.T) {
	stat := "4242 (node agent) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 49 0 0 20 0 12 0 100 0 0"
	if got, err := parseCPU(stat); err != nil || got != 2.99 {
		t.Errorf("parseCPU = %v, %v; want 2.99 s (250 + 49 ticks)", got, err)
	}
	if _, err := parseCPU("garbage"); err == nil {
		t.Error("parseCPU accepted garbage")
	}
}

func TestProcessFigures(t *testing.T) {
	if _, err := cpuSeconds(os.Getpid()); err != nil {
		t.Errorf("cpuSeconds: %v", err)
	}
	rss, err := currentRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("currentRSS = %d, %v; want at least 1 MiB", rss, err)
	}
	if _, err := cpuSeconds(-1); err == nil {
		t.Error("cpuSeconds of no process did not fail")
	}
}
