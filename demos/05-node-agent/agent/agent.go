package agent

// This file is the lesson: what a node agent (a kubelet) does, top to
// bottom. It joins the cluster as a Node, proves it is alive with a Lease,
// watches the pods bound to it, runs each through a state machine
// (state.go, podworker.go), reports their status (status.go) and serves
// their logs (server.go). The rest of the package is plumbing.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// Run joins the cluster and runs the node's pods until ctx ends; then it
// stops every module, reports the pods, marks the node NotReady and
// returns. An error means the agent could not start (or stop) cleanly.
func (a *Agent) Run(ctx context.Context) (err error) {
	ctx, stopPods := context.WithCancel(ctx) // pod workers stop when it ends
	defer stopPods()

	// 1. One node name, one agent: a fresh lease means another one runs.
	if err := a.checkLease(ctx); err != nil {
		return err
	}
	store, err := NewStore(ctx, a.moduleDir, filepath.Join(a.rootDir, "compilation-cache"))
	if err != nil {
		return err
	}
	a.rt.store = store
	defer store.Close(context.WithoutCancel(ctx))
	events := a.eventRecorder()
	defer events.Shutdown() // flushes the events of the last pods

	// 2. The daemon port: the API server proxies `kubectl logs` here.
	addr := net.JoinHostPort(a.rt.hostIP, strconv.Itoa(a.port))
	served, err := Serve(ctx, addr, net.ParseIP(a.rt.hostIP), NewServer(a.rt.logs, a.lookup, a.summary, a.metrics()))
	if err != nil {
		return err
	}

	// 3. Register the Node, then keep its Lease fresh: the lease is the
	// heartbeat; the node's status is written only when something changes.
	// START register OMIT
	if err := a.register(ctx); err != nil {
		return err
	}
	node, err := a.rt.cs.CoreV1().Nodes().Get(ctx, a.nodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", a.nodeName, err)
	}
	leases := a.newLeaseController(node)
	renewing, stopRenewing := context.WithCancel(context.WithoutCancel(ctx))
	go leases.Run(renewing)
	// END register OMIT
	defer leases.Stop() // waits for a renewal in flight, then deletes the lease
	defer stopRenewing()

	// 4. Watch only this node's pods: the field selector makes the API
	// server filter, so the agent never sees (or caches) anybody else's.
	// START informer OMIT
	factory := informers.NewSharedInformerFactoryWithOptions(a.rt.cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.nodeName).String()
		}))
	pods := factory.Core().V1().Pods().Informer()
	_, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.sync(ctx, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { a.sync(ctx, obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) { a.forget(obj) },
	})
	// END informer OMIT
	if err != nil {
		return err
	}
	informerCtx, stopInformer := context.WithCancel(context.WithoutCancel(ctx))
	factory.Start(informerCtx.Done())
	defer factory.Shutdown()
	defer stopInformer()

	// 5. Ready: the scheduler may now bind wasm pods here.
	if err := a.setStatus(ctx, true, "KubeletReady", "node agent is posting ready status"); err != nil {
		return fmt.Errorf("report node %s ready: %w", a.nodeName, err)
	}
	a.log.Info("node is ready", "node", a.nodeName, "logs", "https://"+addr)
	reporting, stopReporting := context.WithCancel(ctx)
	reported := make(chan struct{})
	go func() { defer close(reported); a.reportStatus(reporting, StatusReportFrequency) }()

	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("the log server stopped: %w", err)
	}

	// 6. Stopping: every pod worker stops its modules and reports them
	// (they watch ctx); then the node says NotReady, and the deferred
	// leases.Stop releases the lease so a new agent may start at once.
	// START stop OMIT
	a.log.Info("stopping: stopping modules and reporting pods")
	stopReporting()
	<-reported // no Ready report may land after the NotReady one below
	stopPods()
	a.waitWorkers(30 * time.Second)
	return errors.Join(err, a.setStatus(context.WithoutCancel(ctx), false, "KubeletNotReady", "node agent stopped"))
}

// END stop OMIT

// sync hands a pod to its worker, starting one for a pod new to the node.
func (a *Agent) sync(ctx context.Context, pod *corev1.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.workers[string(pod.UID)]; ok {
		w.update(pod)
		return
	}
	if ctx.Err() != nil {
		return
	}
	w := newPodWorker(a.rt, a.log.WithValues("pod", pod.Namespace+"/"+pod.Name))
	a.workers[string(pod.UID)] = w
	a.pods[pod.Namespace+"/"+pod.Name] = string(pod.UID)
	go func() {
		w.run(ctx, pod)
		a.mu.Lock()
		delete(a.workers, string(pod.UID))
		if a.pods[pod.Namespace+"/"+pod.Name] == string(pod.UID) {
			delete(a.pods, pod.Namespace+"/"+pod.Name)
		}
		a.mu.Unlock()
	}()
}
