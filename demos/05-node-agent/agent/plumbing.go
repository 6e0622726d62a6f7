package agent

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// eventRecorder makes the pod workers' events go to the API server, from
// component "nodeagent" on this node, as the kubelet's do.
func (a *Agent) eventRecorder() record.EventBroadcaster {
	b := record.NewBroadcaster(record.WithContext(context.Background()))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.rt.cs.CoreV1().Events("")})
	a.rt.events = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "nodeagent", Host: a.nodeName})
	return b
}

// forget tells the worker of a pod that left the API that it is gone.
func (a *Agent) forget(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.workers[string(pod.UID)]; ok {
		w.update(nil)
	}
}

// waitWorkers waits for every pod worker to finish, at most timeout.
func (a *Agent) waitWorkers(timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		a.mu.Lock()
		var w *podWorker
		for _, w = range a.workers {
			break
		}
		a.mu.Unlock()
		if w == nil {
			return
		}
		select {
		case <-w.done:
			a.mu.Lock()
			for uid, x := range a.workers {
				if x == w {
					delete(a.workers, uid)
				}
			}
			a.mu.Unlock()
		case <-deadline:
			a.log.Info("gave up waiting for pod workers", "left", len(a.workers))
			return
		}
	}
}

// lookup finds a pod of this node for the log server.
func (a *Agent) lookup(namespace, name string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	uid, ok := a.pods[namespace+"/"+name]
	return uid, ok
}

// summary reports the linear memory of the running modules, per pod.
func (a *Agent) summary() Summary {
	byUID := map[string]uint64{}
	var total uint64
	a.rt.store.Running(func(i *Instance) {
		byUID[i.Owner] += i.Memory()
		total += i.Memory()
	})
	s := Summary{Node: SummaryNode{NodeName: a.nodeName, Memory: SummaryMemory{WorkingSetBytes: total}}}
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, uid := range a.pods {
		mem, ok := byUID[uid]
		if !ok {
			continue
		}
		ns, name, _ := strings.Cut(key, "/")
		var p SummaryPod
		p.PodRef.Namespace, p.PodRef.Name, p.PodRef.UID = ns, name, uid
		p.Memory.WorkingSetBytes = mem
		s.Pods = append(s.Pods, p)
	}
	return s
}

// metrics registers the agent's Prometheus metrics, served on /metrics.
func (a *Agent) metrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "nodeagent_module_compilations_total", Help: "WebAssembly modules compiled (once per module, shared by its pods).",
		}, func() float64 { return float64(a.rt.store.Compiles()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nodeagent_running_modules", Help: "Module instances running now.",
		}, func() float64 {
			n := 0
			a.rt.store.Running(func(*Instance) { n++ })
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nodeagent_module_memory_bytes", Help: "Linear memory of all running modules.",
		}, func() float64 { return float64(a.summary().Node.Memory.WorkingSetBytes) }),
	)
	return reg
}
