package podlister

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// printer writes a listing page by page, then (for --watch) one event at a time. Every
// implementation flushes at the end of each page so nothing accumulates in memory.
type printer interface {
	begin() error
	page(pods []corev1.Pod) error
	end(resourceVersion string) error
	beginWatch() error
	event(t watch.EventType, pod *corev1.Pod) error
}

func newPrinter(format string, w io.Writer, now func() time.Time, allNamespaces bool) (printer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case cli.OutputTable:
		return &tablePrinter{w: bw, tab: cli.NewTable(bw), now: now, allNamespaces: allNamespaces}, nil
	case cli.OutputName:
		return &namePrinter{w: bw}, nil
	case cli.OutputJSON:
		return &jsonPrinter{w: bw}, nil
	case cli.OutputYAML:
		return &yamlPrinter{w: bw}, nil
	default:
		return nil, cli.Usagef("unknown output format %q", format)
	}
}

func flush(w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// withTypeMeta returns the pod with apiVersion and kind filled in; items of a typed list
// arrive without them, but a standalone object should say what it is.
func withTypeMeta(p *corev1.Pod) *corev1.Pod {
	p.APIVersion, p.Kind = "v1", "Pod"
	return p
}

// tablePrinter prints kubectl-like columns.
type tablePrinter struct {
	w             *bufio.Writer
	tab           *cli.Table
	now           func() time.Time
	allNamespaces bool
	rows          int
}

func (t *tablePrinter) columns(pod *corev1.Pod) []string {
	cols := []string{pod.Name, Ready(pod), Status(pod), pod.Spec.NodeName, cli.Age(t.now(), pod.CreationTimestamp.Time)}
	if t.allNamespaces {
		cols = append([]string{pod.Namespace}, cols...)
	}
	return cols
}

func (t *tablePrinter) header(extra ...string) {
	h := []string{"NAME", "READY", "STATUS", "NODE", "AGE"}
	if t.allNamespaces {
		h = append([]string{"NAMESPACE"}, h...)
	}
	t.tab.Row(append(extra, h...)...)
}

func (t *tablePrinter) begin() error { return nil }

func (t *tablePrinter) page(pods []corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	if t.rows == 0 {
		t.header()
	}
	for i := range pods {
		t.tab.Row(t.columns(&pods[i])...)
	}
	t.rows += len(pods)
	if err := t.tab.Flush(); err != nil {
		return err
	}
	return flush(t.w)
}

func (t *tablePrinter) end(string) error {
	if t.rows == 0 {
		if _, err := fmt.Fprintln(t.w, "No pods found."); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	return flush(t.w)
}

func (t *tablePrinter) beginWatch() error {
	t.header("EVENT")
	return nil
}

func (t *tablePrinter) event(et watch.EventType, pod *corev1.Pod) error {
	t.tab.Row(append([]string{string(et)}, t.columns(pod)...)...)
	if err := t.tab.Flush(); err != nil {
		return err
	}
	return flush(t.w)
}

// namePrinter prints namespace/name, one pod per line.
type namePrinter struct{ w *bufio.Writer }

func (n *namePrinter) begin() error { return nil }

func (n *namePrinter) page(pods []corev1.Pod) error {
	for i := range pods {
		_, _ = n.w.WriteString(pods[i].Namespace)
		_ = n.w.WriteByte('/')
		_, _ = n.w.WriteString(pods[i].Name)
		_ = n.w.WriteByte('\n')
	}
	return flush(n.w)
}

func (n *namePrinter) end(string) error { return flush(n.w) }

func (n *namePrinter) beginWatch() error { return nil }

func (n *namePrinter) event(et watch.EventType, pod *corev1.Pod) error {
	fmt.Fprintf(n.w, "%s %s/%s\n", et, pod.Namespace, pod.Name)
	return flush(n.w)
}

// jsonPrinter streams a v1 List: the opening is written first, then each item as it
// arrives, then the closing, so the whole list never has to be in memory. Watch events
// are written one JSON object per line.
type jsonPrinter struct {
	w     *bufio.Writer
	items int
}

func (j *jsonPrinter) begin() error {
	_, err := j.w.WriteString("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [")
	return err
}

func (j *jsonPrinter) page(pods []corev1.Pod) error {
	for i := range pods {
		b, err := json.MarshalIndent(withTypeMeta(&pods[i]), "    ", "  ")
		if err != nil {
			return fmt.Errorf("encoding pod %s/%s: %w", pods[i].Namespace, pods[i].Name, err)
		}
		if j.items > 0 {
			_ = j.w.WriteByte(',')
		}
		_, _ = j.w.WriteString("\n    ")
		_, _ = j.w.Write(b)
		j.items++
	}
	return flush(j.w)
}

func (j *jsonPrinter) end(rv string) error {
	if j.items > 0 {
		_, _ = j.w.WriteString("\n  ")
	}
	rvJSON, _ := json.Marshal(rv)
	fmt.Fprintf(j.w, "],\n  \"metadata\": {\n    \"resourceVersion\": %s\n  }\n}\n", rvJSON)
	return flush(j.w)
}

func (j *jsonPrinter) beginWatch() error { return nil }

type jsonEvent struct {
	Type   watch.EventType `json:"type"`
	Object *corev1.Pod     `json:"object"`
}

func (j *jsonPrinter) event(et watch.EventType, pod *corev1.Pod) error {
	b, err := json.Marshal(jsonEvent{Type: et, Object: withTypeMeta(pod)})
	if err != nil {
		return fmt.Errorf("encoding %s event for pod %s/%s: %w", et, pod.Namespace, pod.Name, err)
	}
	_, _ = j.w.Write(b)
	_ = j.w.WriteByte('\n')
	return flush(j.w)
}

// yamlPrinter streams a v1 List in YAML, and watch events as separate documents.
type yamlPrinter struct{ w *bufio.Writer }

func (y *yamlPrinter) begin() error {
	_, err := y.w.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	return err
}

func (y *yamlPrinter) page(pods []corev1.Pod) error {
	for i := range pods {
		b, err := yaml.Marshal(withTypeMeta(&pods[i]))
		if err != nil {
			return fmt.Errorf("encoding pod %s/%s: %w", pods[i].Namespace, pods[i].Name, err)
		}
		for k, line := range strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n") {
			if k == 0 {
				_, _ = y.w.WriteString("- ")
			} else {
				_, _ = y.w.WriteString("  ")
			}
			_, _ = y.w.WriteString(line)
		}
		_ = y.w.WriteByte('\n')
	}
	return flush(y.w)
}

func (y *yamlPrinter) end(rv string) error {
	fmt.Fprintf(y.w, "metadata:\n  resourceVersion: %q\n", rv)
	return flush(y.w)
}

func (y *yamlPrinter) beginWatch() error { return nil }

func (y *yamlPrinter) event(et watch.EventType, pod *corev1.Pod) error {
	b, err := yaml.Marshal(jsonEvent{Type: et, Object: withTypeMeta(pod)})
	if err != nil {
		return fmt.Errorf("encoding %s event for pod %s/%s: %w", et, pod.Namespace, pod.Name, err)
	}
	_, _ = y.w.WriteString("---\n")
	_, _ = y.w.Write(b)
	return flush(y.w)
}
