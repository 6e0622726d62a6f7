package agent

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/component-helpers/apimachinery/lease"
	"k8s.io/utils/clock"
)

// The labels and the taint that mark a node of this agent. Only pods that
// tolerate the taint (and select the arch) are scheduled here; ordinary
// pods never are.
const (
	OS    = "wasip1" // kubernetes.io/os: what GOOS=wasip1 builds for
	Arch  = "wasm"   // kubernetes.io/arch: what GOARCH=wasm builds for
	Taint = corev1.LabelArchStable
)

// WasmToleration is the toleration a pod needs to be scheduled here.
var WasmToleration = corev1.Toleration{Key: Taint, Operator: corev1.TolerationOpEqual, Value: Arch, Effect: corev1.TaintEffectNoSchedule}

// Lease timing, as the kubelet's defaults: the lease lasts 40 s and is
// renewed every quarter of that.
const (
	LeaseNamespace = corev1.NamespaceNodeLease
	LeaseDuration  = 40 * time.Second
	leaseHolderAnn = "kubeworkshop.dev/node-agent"
)

// kwokNodeAnnotation marks the nodes kwok's controller plays the kubelet for.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

func (a *Agent) nodeObject() *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(int64(a.maxPods)*int64(a.rt.defaultMemory), resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(int64(a.maxPods), resource.DecimalSI),
	}
	return &corev1.Node{
		// START node OMIT
		ObjectMeta: metav1.ObjectMeta{
			Name: a.nodeName,
			Labels: map[string]string{
				corev1.LabelHostname:   a.nodeName,
				corev1.LabelOSStable:   OS,   // wasip1
				corev1.LabelArchStable: Arch, // wasm
			},
		},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{
			{Key: Taint, Value: Arch, Effect: corev1.TaintEffectNoSchedule},
		}},
		Status: corev1.NodeStatus{
			Capacity:    capacity, // cpu, memory and pods
			Allocatable: capacity,
			Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: a.rt.hostIP}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{
				KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(a.port)},
			},
			// END node OMIT
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem:         OS,
				Architecture:            Arch,
				KubeletVersion:          "v1.37.0-wasm",
				ContainerRuntimeVersion: "wazero://v1.12.0",
				OSImage:                 "kubeworkshop node agent (WebAssembly)",
				KernelVersion:           runtime.GOOS + "/" + runtime.GOARCH,
			},
		},
	}
}

// register creates the Node, or takes over the one a previous run of the
// agent left, keeping what others added (labels, taints) and refusing a
// node kwok plays the kubelet for.
func (a *Agent) register(ctx context.Context) error {
	want := a.nodeObject()
	_, err := a.rt.cs.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		a.log.Info("registered node", "node", a.nodeName)
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", a.nodeName, err)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := a.rt.cs.CoreV1().Nodes().Get(ctx, a.nodeName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", a.nodeName, err)
		}
		if _, ok := cur.Annotations[kwokNodeAnnotation]; ok {
			return fmt.Errorf("node %s is a kwok node (annotation %s): kwok plays its kubelet; choose another --node-name", a.nodeName, kwokNodeAnnotation)
		}
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		for k, v := range want.Labels {
			cur.Labels[k] = v
		}
		if !hasTaint(cur.Spec.Taints, want.Spec.Taints[0]) {
			cur.Spec.Taints = append(cur.Spec.Taints, want.Spec.Taints[0])
		}
		if _, err := a.rt.cs.CoreV1().Nodes().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return err
		}
		a.log.Info("re-registered existing node", "node", a.nodeName)
		return nil
	})
}

func hasTaint(ts []corev1.Taint, t corev1.Taint) bool {
	for _, x := range ts {
		if x.Key == t.Key && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

// setStatus writes the node's status: capacity, addresses, the daemon
// port, and conditions with Ready as given. The kubelet does this every
// few minutes or on a change; between those writes the Lease is its
// heartbeat.
func (a *Agent) setStatus(ctx context.Context, ready bool, reason, message string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := a.rt.cs.CoreV1().Nodes().Get(ctx, a.nodeName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", a.nodeName, err)
		}
		want := a.nodeObject().Status
		now := metav1.Now()
		want.Conditions = []corev1.NodeCondition{
			nodeCondition(cur, corev1.NodeReady, ready, reason, message, now),
			nodeCondition(cur, corev1.NodeMemoryPressure, false, "KubeletHasSufficientMemory", "", now),
			nodeCondition(cur, corev1.NodeDiskPressure, false, "KubeletHasNoDiskPressure", "", now),
			nodeCondition(cur, corev1.NodePIDPressure, false, "KubeletHasSufficientPID", "", now),
		}
		cur.Status = want
		_, err = a.rt.cs.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// StatusReportFrequency is how often a running agent posts its node status
// although nothing changed, as the kubelet's nodeStatusReportFrequency
// does: the conditions' heartbeat times stay current. Liveness itself is
// the Lease's job, renewed every few seconds.
const StatusReportFrequency = 5 * time.Minute

// reportStatus posts the node's Ready status every period until ctx ends.
// A failed post is logged and tried again at the next tick.
func (a *Agent) reportStatus(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.setStatus(ctx, true, "KubeletReady", "node agent is posting ready status"); err != nil && ctx.Err() == nil {
			a.log.Error(err, "posting node status", "node", a.nodeName)
		}
	}
}

func nodeCondition(cur *corev1.Node, t corev1.NodeConditionType, on bool, reason, message string, now metav1.Time) corev1.NodeCondition {
	status := corev1.ConditionFalse
	if on {
		status = corev1.ConditionTrue
	}
	c := corev1.NodeCondition{Type: t, Status: status, Reason: reason, Message: message, LastHeartbeatTime: now, LastTransitionTime: now}
	for _, old := range cur.Status.Conditions {
		if old.Type == t && old.Status == status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	return c
}

// checkLease refuses to start while another agent holds the node's lease:
// two agents with one node name would fight over the same pods.
func (a *Agent) checkLease(ctx context.Context) error {
	l, err := a.rt.cs.CoordinationV1().Leases(LeaseNamespace).Get(ctx, a.nodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the lease of node %s: %w", a.nodeName, err)
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return nil
	}
	expires := l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
	if time.Now().After(expires) {
		return nil
	}
	holder := l.Annotations[leaseHolderAnn]
	if holder == "" {
		holder = "a kubelet or kwok"
	}
	return fmt.Errorf("node %s is already run by another agent (%s): its lease %s/%s was renewed %v ago; stop that agent first, or, if it crashed, start again after %s",
		a.nodeName, holder, LeaseNamespace, a.nodeName, time.Since(l.Spec.RenewTime.Time).Round(time.Second), expires.Format(time.TimeOnly))
}

// newLeaseController renews the node's Lease with the kubelet's own code;
// the lease is owned by the Node so it goes when the node is deleted.
func (a *Agent) newLeaseController(node *corev1.Node) lease.Controller {
	me, _ := os.Hostname()
	me = fmt.Sprintf("%s pid %d", me, os.Getpid())
	// START lease OMIT
	return lease.NewController(clock.RealClock{}, a.rt.cs, a.nodeName, int32(LeaseDuration/time.Second),
		func() { a.log.Info("renewing the node lease keeps failing") },
		LeaseDuration/4, a.nodeName, LeaseNamespace,
		func(l *coordinationv1.Lease) error {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
			if l.Annotations == nil {
				l.Annotations = map[string]string{}
			}
			l.Annotations[leaseHolderAnn] = me
			return nil
		})
}

// END lease OMIT
