package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// kwokNodeAnnotation marks nodes simulated by kwok: their pods run nothing
// and have no logs to fetch.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// Dump writes the state of a namespace under dir, for reading after a
// failed test:
//
//	objects/<resource>.<group>.yaml  every listable object, managedFields stripped
//	events.txt                       the namespace's events, oldest first
//	logs/<pod>.<container>.log       container logs, where the nodes are real
//
// It carries on past individual failures and returns them joined.
func Dump(ctx context.Context, cfg *rest.Config, namespace, dir string) error {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 10 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return errors.Join(
		dumpObjects(ctx, cs.Discovery(), dyn, namespace, filepath.Join(dir, "objects")),
		dumpEvents(ctx, cs, namespace, filepath.Join(dir, "events.txt")),
		dumpLogs(ctx, cs, namespace, filepath.Join(dir, "logs")),
	)
}

func dumpObjects(ctx context.Context, disc discovery.DiscoveryInterface, dyn dynamic.Interface, namespace, dir string) error {
	lists, err := disc.ServerPreferredNamespacedResources()
	var errs []error
	if err != nil {
		// Partial discovery (an aggregated API down) still lists the rest.
		errs = append(errs, fmt.Errorf("discovery: %w", err))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !contains(r.Verbs, "list") || (gv.Group == "" && r.Name == "events") || (gv.Group == "events.k8s.io") {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).Namespace(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				errs = append(errs, fmt.Errorf("list %s: %w", r.Name, err))
				continue
			}
			if len(items.Items) == 0 {
				continue
			}
			var b strings.Builder
			for _, it := range items.Items {
				it.SetManagedFields(nil)
				out, err := yaml.Marshal(it.Object)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				b.WriteString("---\n")
				b.Write(out)
			}
			name := r.Name
			if gv.Group != "" {
				name += "." + gv.Group
			}
			if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(b.String()), 0o644); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func dumpEvents(ctx context.Context, cs kubernetes.Interface, namespace, path string) error {
	events, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	sort.SliceStable(events.Items, func(i, j int) bool { return eventTime(&events.Items[i]).Before(eventTime(&events.Items[j])) })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := tabwriter.NewWriter(f, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tTYPE\tREASON\tOBJECT\tCOUNT\tMESSAGE")
	for _, e := range events.Items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s/%s\t%d\t%s\n", eventTime(&e).UTC().Format(time.RFC3339), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, e.Count, strings.TrimSpace(e.Message))
	}
	return w.Flush()
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

func dumpLogs(ctx context.Context, cs kubernetes.Interface, namespace, dir string) error {
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	if len(pods.Items) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	simulated := map[string]bool{}
	var errs []error
	for _, pod := range pods.Items {
		if pod.Spec.NodeName == "" {
			continue
		}
		sim, ok := simulated[pod.Spec.NodeName]
		if !ok {
			node, err := cs.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
			sim = err == nil && node.Annotations[kwokNodeAnnotation] != ""
			simulated[pod.Spec.NodeName] = sim
		}
		for _, c := range pod.Spec.Containers {
			path := filepath.Join(dir, pod.Name+"."+c.Name+".log")
			if sim {
				msg := fmt.Sprintf("pod %s runs on simulated (kwok) node %s: its containers never ran, so there are no logs\n", pod.Name, pod.Spec.NodeName)
				errs = append(errs, os.WriteFile(path, []byte(msg), 0o644))
				continue
			}
			errs = append(errs, writeLog(ctx, cs, namespace, pod.Name, c.Name, path))
		}
	}
	return errors.Join(errs...)
}

func writeLog(ctx context.Context, cs kubernetes.Interface, namespace, pod, container, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tail := int64(1000)
	stream, err := cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &tail}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of %s/%s: %w", pod, container, err)
	}
	defer stream.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, stream)
	return err
}
