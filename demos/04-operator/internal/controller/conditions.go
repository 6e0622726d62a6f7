package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
)

// Condition reasons. They are CamelCase words, as metav1.Condition requires,
// and part of the API: scripts and tests may match on them.
const (
	ReasonMinimumReplicasReady    = "MinimumReplicasReady"
	ReasonInsufficientReadyPods   = "InsufficientReadyPods"
	ReasonScalingUp               = "ScalingUp"
	ReasonScalingDown             = "ScalingDown"
	ReasonWaitingForReadyPods     = "WaitingForReadyPods"
	ReasonWaitingForTermination   = "WaitingForTermination"
	ReasonComplete                = "Complete"
	ReasonAsExpected              = "AsExpected"
	ReasonPodCreateFailed         = "PodCreateFailed"
	ReasonPodDeleteFailed         = "PodDeleteFailed"
	ReasonLimitedByOperatorConfig = "LimitedByOperatorConfig"
)

// observation is everything the conditions are computed from. It is filled in
// by the reconciler from the informer cache and the outcome of its own
// actions.
type observation struct {
	generation  int64
	requested   int32 // spec.replicas
	desired     int32 // after the OperatorConfig cap
	limited     bool  // the cap applied
	active      int32
	ready       int32
	terminating int32
	createErr   error
	deleteErr   error
}

// setConditions updates conds in place to reflect obs and returns the result.
// LastTransitionTime only changes when a condition's status flips, following
// the metav1.Condition conventions; now is used for conditions that change.
func setConditions(conds []metav1.Condition, obs observation, now metav1.Time) []metav1.Condition {
	set := func(typ string, status bool, reason, msg string, args ...any) {
		s := metav1.ConditionFalse
		if status {
			s = metav1.ConditionTrue
		}
		// START setcondition OMIT
		meta.SetStatusCondition(&conds, metav1.Condition{
			Type:               typ,
			Status:             s,
			Reason:             reason,
			Message:            fmt.Sprintf(msg, args...),
			ObservedGeneration: obs.generation,
			LastTransitionTime: now,
		})
		// END setcondition OMIT
	}

	if obs.ready >= obs.desired {
		set(workshopv1alpha1.ConditionAvailable, true, ReasonMinimumReplicasReady, "%d/%d pods ready", obs.ready, obs.desired)
	} else {
		set(workshopv1alpha1.ConditionAvailable, false, ReasonInsufficientReadyPods, "%d/%d pods ready", obs.ready, obs.desired)
	}
	switch {
	case obs.active < obs.desired:
		set(workshopv1alpha1.ConditionProgressing, true, ReasonScalingUp, "scaling up from %d to %d pods", obs.active, obs.desired)
	case obs.active > obs.desired:
		set(workshopv1alpha1.ConditionProgressing, true, ReasonScalingDown, "scaling down from %d to %d pods", obs.active, obs.desired)
	case obs.ready < obs.active:
		set(workshopv1alpha1.ConditionProgressing, true, ReasonWaitingForReadyPods, "waiting for %d pod(s) to become ready", obs.active-obs.ready)
	case obs.terminating > 0:
		set(workshopv1alpha1.ConditionProgressing, true, ReasonWaitingForTermination, "waiting for %d pod(s) to terminate", obs.terminating)
	default:
		set(workshopv1alpha1.ConditionProgressing, false, ReasonComplete, "all %d pods are ready", obs.desired)
	}

	switch {
	case obs.createErr != nil:
		set(workshopv1alpha1.ConditionDegraded, true, ReasonPodCreateFailed, "creating a pod failed: %v", obs.createErr)
	case obs.deleteErr != nil:
		set(workshopv1alpha1.ConditionDegraded, true, ReasonPodDeleteFailed, "deleting a pod failed: %v", obs.deleteErr)
	case obs.limited:
		set(workshopv1alpha1.ConditionDegraded, true, ReasonLimitedByOperatorConfig,
			"spec.replicas is %d but OperatorConfig %q allows at most %d pods per PodSet",
			obs.requested, workshopv1alpha1.OperatorConfigName, obs.desired)
	default:
		set(workshopv1alpha1.ConditionDegraded, false, ReasonAsExpected, "the operator can do what the spec asks")
	}
	return conds
}
