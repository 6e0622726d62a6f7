package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// managedPods is the number of active Pods per PodSet, as last seen by
	// a reconcile. It is served next to controller-runtime's own metrics
	// (controller_runtime_reconcile_total, workqueue_depth, ...).
	// START gauge OMIT
	managedPods = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "workshop_podset_managed_pods",
		Help: "Number of Pods, not being deleted, that the operator manages for a PodSet.",
	}, []string{"namespace", "podset"})
	// END gauge OMIT

	// podOperations counts the Pod creates and deletes the operator issued.
	podOperations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "workshop_podset_pod_operations_total",
		Help: "Pod creates and deletes issued by the PodSet operator, by operation and result.",
	}, []string{"operation", "result"})
)

// START register OMIT
func init() {
	metrics.Registry.MustRegister(managedPods, podOperations)
}

// END register OMIT

func countOp(op string, err error) {
	result := "success"
	if err != nil {
		result = "error"
	}
	podOperations.WithLabelValues(op, result).Inc()
}
