package agent

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodStatus is what the agent reports for pod, given the state of each of
// its containers (in spec order) and whether the pod is being deleted: the
// phase, the four conditions, and a containerStatus per container, as the
// kubelet fills them in.
func PodStatus(pod *corev1.Pod, states []State, hostIP string, now time.Time) corev1.PodStatus {
	st := corev1.PodStatus{
		HostIP:    hostIP,
		HostIPs:   []corev1.HostIP{{IP: hostIP}},
		PodIP:     hostIP, // modules share the agent's network, like hostNetwork pods
		PodIPs:    []corev1.PodIP{{IP: hostIP}},
		StartTime: pod.Status.StartTime,
		QOSClass:  pod.Status.QOSClass,
	}
	if st.StartTime == nil {
		t := metav1.NewTime(now)
		st.StartTime = &t
	}
	allReady := len(states) > 0
	for i, s := range states {
		c := pod.Spec.Containers[i]
		h := HistoryOf(s)
		cs := corev1.ContainerStatus{
			Name:         c.Name,
			Image:        c.Image,
			ImageID:      imageID(s),
			RestartCount: h.Restarts,
			State:        s.Status(),
			Ready:        isRunning(s),
			Started:      ptrTo(isRunning(s)),
		}
		if r, ok := s.(Running); ok {
			cs.ContainerID = r.ID
		} else if e, ok := s.(Exited); ok {
			cs.ContainerID = e.Terminated.ContainerID
		}
		if h.Last != nil {
			cs.LastTerminationState = corev1.ContainerState{Terminated: h.Last}
		}
		allReady = allReady && cs.Ready
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	st.Phase = Phase(pod.Spec.RestartPolicy, st.ContainerStatuses, pod.DeletionTimestamp != nil)
	st.Conditions = conditions(pod, st.Phase, allReady, now)
	return st
}

func isRunning(s State) bool {
	if t, ok := s.(Terminating); ok {
		s = t.From
	}
	_, ok := s.(Running)
	return ok
}

func imageID(s State) string {
	m := ModuleOf(s)
	if m == nil {
		return ""
	}
	return "wasm://" + m.Name + "@" + m.Digest
}

// Phase is the kubelet's rule for a pod's phase: Running while any
// container runs or will be restarted; Pending while one has not run yet;
// Succeeded or Failed once all have exited for good. A pod being deleted
// ends Succeeded only if every container exited 0.
func Phase(policy corev1.RestartPolicy, statuses []corev1.ContainerStatus, deleting bool) corev1.PodPhase {
	var pending, running, stopped, succeeded int
	for _, cs := range statuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil: // waiting to be restarted
			stopped++
			if cs.LastTerminationState.Terminated.ExitCode == 0 {
				succeeded++
			}
		default:
			pending++
		}
	}
	// START phase OMIT
	switch {
	case running > 0:
		return corev1.PodRunning
	case pending > 0:
		return corev1.PodPending
	case deleting || policy == corev1.RestartPolicyNever:
		if stopped == succeeded && pending == 0 {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	case policy == corev1.RestartPolicyOnFailure && stopped == succeeded:
		return corev1.PodSucceeded
	default: // Always, or OnFailure with a failed container: it will be restarted
		return corev1.PodRunning
	}
	// END phase OMIT
}

func conditions(pod *corev1.Pod, phase corev1.PodPhase, ready bool, now time.Time) []corev1.PodCondition {
	cond := func(t corev1.PodConditionType, ok bool, reason string) corev1.PodCondition {
		status := corev1.ConditionFalse
		if ok {
			status, reason = corev1.ConditionTrue, ""
		}
		c := corev1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: metav1.NewTime(now)}
		for _, old := range pod.Status.Conditions { // keep the time of the last real change
			if old.Type == t && old.Status == status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		return c
	}
	notReady := "ContainersNotReady"
	if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		notReady = "PodCompleted"
	}
	return []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, phase != corev1.PodSucceeded && phase != corev1.PodFailed, ""),
		cond(corev1.PodInitialized, true, ""),
		cond(corev1.PodReady, ready, notReady),
		cond(corev1.ContainersReady, ready, notReady),
		cond(corev1.PodScheduled, true, ""),
	}
}

func ptrTo[T any](v T) *T { return &v }
