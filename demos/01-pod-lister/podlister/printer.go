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

// Printer writes a listing page by page, then (for --watch) one event at a time. Every
// method flushes, so nothing accumulates in memory and nothing waits in a buffer.
type Printer interface {
	Page(pods []corev1.Pod) error
	End(resourceVersion string) error
	BeginWatch() error
	Event(t watch.EventType, pod *corev1.Pod) error
}

// NewPrinter returns the printer for an output format: table, name, json or yaml.
func NewPrinter(format string, w io.Writer, now func() time.Time, allNamespaces bool) (Printer, error) {
	out := &writer{w: bufio.NewWriterSize(w, 64<<10)}
	switch format {
	case cli.OutputTable:
		return &tablePrinter{writer: out, tab: cli.NewTable(out.w), now: now, allNamespaces: allNamespaces}, nil
	case cli.OutputName:
		return &namePrinter{out}, nil
	case cli.OutputJSON, cli.OutputYAML:
		return &listPrinter{writer: out, yaml: format == cli.OutputYAML}, nil
	}
	return nil, cli.Usagef("unknown output format %q", format)
}

// writer is a buffered output whose flush reports the first write error.
type writer struct{ w *bufio.Writer }

func (w *writer) flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// tablePrinter prints kubectl-like columns; watch events get an EVENT column first.
type tablePrinter struct {
	*writer
	tab, events   *cli.Table
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

func (t *tablePrinter) header() []string {
	if t.allNamespaces {
		return []string{"NAMESPACE", "NAME", "READY", "STATUS", "NODE", "AGE"}
	}
	return []string{"NAME", "READY", "STATUS", "NODE", "AGE"}
}

func (t *tablePrinter) Page(pods []corev1.Pod) error {
	if len(pods) > 0 && t.rows == 0 {
		t.tab.Row(t.header()...)
	}
	for i := range pods {
		t.tab.Row(t.columns(&pods[i])...)
	}
	t.rows += len(pods)
	if err := t.tab.Flush(); err != nil {
		return err
	}
	return t.flush()
}

func (t *tablePrinter) End(string) error {
	if t.rows == 0 {
		fmt.Fprintln(t.w, "No pods found.")
	}
	return t.flush()
}

func (t *tablePrinter) BeginWatch() error {
	// The event table starts as wide as the listing, with room for the longest event type
	// and for "Terminating", so rows flushed one event at a time line up.
	widths := append([]int{len(watch.Modified)}, t.tab.Widths()...)
	for len(widths) < len(t.header())+1 {
		widths = append(widths, 0)
	}
	status := len(widths) - 3 // EVENT, [NAMESPACE], NAME, READY, STATUS, NODE, AGE
	widths[status] = max(widths[status], len("Terminating"))
	t.events = cli.NewTable(t.w)
	t.events.MinWidths(widths...)
	t.events.Row(append([]string{"EVENT"}, t.header()...)...)
	if err := t.events.Flush(); err != nil {
		return err
	}
	return t.flush()
}

func (t *tablePrinter) Event(et watch.EventType, pod *corev1.Pod) error {
	t.events.Row(append([]string{string(et)}, t.columns(pod)...)...)
	if err := t.events.Flush(); err != nil {
		return err
	}
	return t.flush()
}

// namePrinter prints namespace/name, one pod per line.
type namePrinter struct{ *writer }

func (n *namePrinter) Page(pods []corev1.Pod) error {
	for i := range pods {
		fmt.Fprintf(n.w, "%s/%s\n", pods[i].Namespace, pods[i].Name)
	}
	return n.flush()
}

func (n *namePrinter) End(string) error  { return n.flush() }
func (n *namePrinter) BeginWatch() error { return nil }

func (n *namePrinter) Event(et watch.EventType, pod *corev1.Pod) error {
	fmt.Fprintf(n.w, "%s %s/%s\n", et, pod.Namespace, pod.Name)
	return n.flush()
}

// listPrinter streams a v1 List in JSON or YAML: the opening, then each item as its page
// arrives, then the closing, so the whole list is never in memory. Items of a typed list
// arrive without apiVersion and kind, so it adds them. Watch events are written one per
// line (JSON) or one per document (YAML).
type listPrinter struct {
	*writer
	yaml  bool
	items int
}

func (l *listPrinter) encode(v any) ([]byte, error) {
	if l.yaml {
		return yaml.Marshal(v)
	}
	return json.MarshalIndent(v, "    ", "  ")
}

func (l *listPrinter) Page(pods []corev1.Pod) error {
	for i := range pods {
		pod := &pods[i]
		pod.APIVersion, pod.Kind = "v1", "Pod"
		b, err := l.encode(pod)
		if err != nil {
			return fmt.Errorf("encoding pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		switch {
		case l.items == 0 && l.yaml:
			l.w.WriteString("apiVersion: v1\nkind: List\nitems:\n")
		case l.items == 0:
			l.w.WriteString("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    ")
		case !l.yaml:
			l.w.WriteString(",\n    ")
		}
		if l.yaml { // indent the document as one item of the list
			b = []byte("- " + strings.ReplaceAll(strings.TrimSuffix(string(b), "\n"), "\n", "\n  ") + "\n")
		}
		l.w.Write(b)
		l.items++
	}
	return l.flush()
}

func (l *listPrinter) End(rv string) error {
	rvJSON, _ := json.Marshal(rv)
	switch {
	case l.yaml && l.items == 0:
		fmt.Fprintf(l.w, "apiVersion: v1\nkind: List\nitems: []\nmetadata:\n  resourceVersion: %s\n", rvJSON)
	case l.yaml:
		fmt.Fprintf(l.w, "metadata:\n  resourceVersion: %s\n", rvJSON)
	case l.items == 0:
		fmt.Fprintf(l.w, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [],\n  \"metadata\": {\n    \"resourceVersion\": %s\n  }\n}\n", rvJSON)
	default:
		fmt.Fprintf(l.w, "\n  ],\n  \"metadata\": {\n    \"resourceVersion\": %s\n  }\n}\n", rvJSON)
	}
	return l.flush()
}

func (l *listPrinter) BeginWatch() error { return nil }

func (l *listPrinter) Event(et watch.EventType, pod *corev1.Pod) error {
	pod.APIVersion, pod.Kind = "v1", "Pod"
	ev := map[string]any{"type": et, "object": pod}
	var b []byte
	var err error
	if l.yaml {
		b, err = yaml.Marshal(ev)
		b = append([]byte("---\n"), b...)
	} else {
		b, err = json.Marshal(ev)
		b = append(b, '\n')
	}
	if err != nil {
		return fmt.Errorf("encoding %s event for pod %s/%s: %w", et, pod.Namespace, pod.Name, err)
	}
	l.w.Write(b)
	return l.flush()
}
