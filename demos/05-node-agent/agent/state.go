package agent

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// START state OMIT
// State is where one container of a pod stands. Every state is its own
// type, and the methods of a state are the transitions it allows: each
// returns the type of the next state, so a transition the machine does not
// allow (Running → ImagePullBackOff, say) is not a method and does not
// compile. This is Krustlet's "states as types" done with Go's types.
//
// Status is the state as the API shows it, in the container's status.
type State interface {
	Status() corev1.ContainerState
	Name() string
}

// END state OMIT

// History is what a container carries from state to state: how often it
// was restarted and how its previous run ended (status.lastState).
type History struct {
	Restarts int32
	Last     *corev1.ContainerStateTerminated
	Started  bool // whether any run has started
}

// HistoryOf returns a state's history.
func HistoryOf(s State) History {
	switch s := s.(type) {
	case Resolving:
		return s.History
	case ErrImagePull:
		return s.History
	case ImagePullBackOff:
		return s.History
	case Starting:
		return s.History
	case StartFailed:
		return s.History
	case Running:
		return s.History
	case Exited:
		return s.History
	case CrashLoopBackOff:
		return s.History
	case Terminating:
		return s.History
	}
	return History{}
}

// ModuleOf returns the module a state has resolved, or nil before that.
func ModuleOf(s State) *Module {
	switch s := s.(type) {
	case Starting:
		return s.Module
	case StartFailed:
		return s.Module
	case Running:
		return s.Module
	case Exited:
		return s.Module
	case CrashLoopBackOff:
		return s.Module
	case Terminating:
		return ModuleOf(s.From)
	}
	return nil
}

// Resolving looks the container's image up in the module store.
type Resolving struct{ History }

// ErrImagePull: the module could not be resolved just now.
type ErrImagePull struct {
	History
	Err error
}

// ImagePullBackOff waits before the module is looked up again.
type ImagePullBackOff struct {
	History
	Err   error
	Delay time.Duration
}

// Starting prepares the module's arguments, environment and files, then
// instantiates it.
type Starting struct {
	History
	Module *Module
}

// StartFailed: the container could not be started (reason as the kubelet
// names it, e.g. CreateContainerConfigError); it is retried after a delay.
type StartFailed struct {
	History
	Module  *Module
	Reason  string
	Message string
}

// Running: the module's _start function is executing.
// START running OMIT
type Running struct {
	History
	Module    *Module
	ID        string // the run's containerID, wasm://…
	StartedAt time.Time
}

// END running OMIT

// Exited: the module returned, exited or trapped. With restartPolicy Never,
// or OnFailure and exit code 0, this is where the container stays.
type Exited struct {
	History
	Module     *Module
	Terminated corev1.ContainerStateTerminated
}

// CrashLoopBackOff waits before an exited container is started again.
type CrashLoopBackOff struct {
	History
	Module *Module
	Delay  time.Duration
}

// Terminating: the pod is being deleted (or the agent stops); whatever runs
// is being stopped. It shows the state it came from until Stopped.
type Terminating struct {
	History
	From State
}

// Transitions. Every one is a method of the state it leaves.

// Resolved moves on to starting the module that was found.
func (s Resolving) Resolved(m *Module) Starting { return Starting{History: s.History, Module: m} }

// Failed reports that the module could not be resolved.
func (s Resolving) Failed(err error) ErrImagePull { return ErrImagePull{History: s.History, Err: err} }

// BackOff waits delay before the next attempt.
func (s ErrImagePull) BackOff(delay time.Duration) ImagePullBackOff {
	return ImagePullBackOff{History: s.History, Err: s.Err, Delay: delay}
}

// Retry looks the module up again.
func (s ImagePullBackOff) Retry() Resolving { return Resolving{History: s.History} }

// Started records that the module runs, as run id, since at.
func (s Starting) Started(id string, at time.Time) Running {
	h := s.History
	h.Started = true
	return Running{History: h, Module: s.Module, ID: id, StartedAt: at}
}

// Failed reports that the container could not be started.
func (s Starting) Failed(reason, message string) StartFailed {
	return StartFailed{History: s.History, Module: s.Module, Reason: reason, Message: message}
}

// Retry tries to start the container again.
func (s StartFailed) Retry() Starting { return Starting{History: s.History, Module: s.Module} }

// Exited records how the run ended: code is the module's exit code, reason
// the kubelet's (Completed, Error, OOMKilled).
func (s Running) Exited(code int32, reason, message string, at time.Time) Exited {
	return Exited{History: s.History, Module: s.Module, Terminated: corev1.ContainerStateTerminated{
		ExitCode:    code,
		Reason:      reason,
		Message:     message,
		StartedAt:   metav1.NewTime(s.StartedAt),
		FinishedAt:  metav1.NewTime(at),
		ContainerID: s.ID,
	}}
}

// START transitions OMIT
// BackOff schedules a restart after delay: the run becomes lastState and the
// restart count goes up, as the kubelet reports it.
func (s Exited) BackOff(delay time.Duration) CrashLoopBackOff {
	last := s.Terminated
	return CrashLoopBackOff{History: History{Restarts: s.Restarts + 1, Last: &last, Started: true}, Module: s.Module, Delay: delay}
}

// Retry starts the container again once the back-off is over.
func (s CrashLoopBackOff) Retry() Starting { return Starting{History: s.History, Module: s.Module} }

// END transitions OMIT

// Terminate begins stopping the container; every state that is not final
// allows it.
func (s Resolving) Terminate() Terminating        { return Terminating{History: s.History, From: s} }
func (s ErrImagePull) Terminate() Terminating     { return Terminating{History: s.History, From: s} }
func (s ImagePullBackOff) Terminate() Terminating { return Terminating{History: s.History, From: s} }
func (s Starting) Terminate() Terminating         { return Terminating{History: s.History, From: s} }
func (s StartFailed) Terminate() Terminating      { return Terminating{History: s.History, From: s} }
func (s Running) Terminate() Terminating          { return Terminating{History: s.History, From: s} }
func (s CrashLoopBackOff) Terminate() Terminating { return Terminating{History: s.History, From: s} }

// Stopped records the end of a terminating container. A container that was
// running ends with the given exit; one that never ran this time ends with
// exit code 137 and reason Error, so the pod does not look Succeeded.
func (s Terminating) Stopped(code int32, reason, message string, at time.Time) Exited {
	if r, ok := s.From.(Running); ok {
		return r.Exited(code, reason, message, at)
	}
	return Exited{History: s.History, Module: ModuleOf(s.From), Terminated: corev1.ContainerStateTerminated{
		ExitCode: 137, Reason: "Error", Message: "stopped before it ran: " + message,
		StartedAt: metav1.NewTime(at), FinishedAt: metav1.NewTime(at),
	}}
}

// Names, as the agent's log lines show them.

func (Resolving) Name() string        { return "Resolving" }
func (ErrImagePull) Name() string     { return "ErrImagePull" }
func (ImagePullBackOff) Name() string { return "ImagePullBackOff" }
func (Starting) Name() string         { return "Starting" }
func (StartFailed) Name() string      { return "StartFailed" }
func (Running) Name() string          { return "Running" }
func (Exited) Name() string           { return "Exited" }
func (CrashLoopBackOff) Name() string { return "CrashLoopBackOff" }
func (Terminating) Name() string      { return "Terminating" }

// Status of each state, as `kubectl describe pod` shows it.

func (Resolving) Status() corev1.ContainerState {
	return waiting("ContainerCreating", "")
}
func (s ErrImagePull) Status() corev1.ContainerState {
	return waiting("ErrImagePull", s.Err.Error())
}
func (s ImagePullBackOff) Status() corev1.ContainerState {
	return waiting("ImagePullBackOff", fmt.Sprintf("Back-off %v resolving module: %v", s.Delay, s.Err))
}
func (Starting) Status() corev1.ContainerState {
	return waiting("ContainerCreating", "")
}
func (s StartFailed) Status() corev1.ContainerState {
	return waiting(s.Reason, s.Message)
}
func (s Running) Status() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(s.StartedAt)}}
}
func (s Exited) Status() corev1.ContainerState {
	t := s.Terminated
	return corev1.ContainerState{Terminated: &t}
}
func (s CrashLoopBackOff) Status() corev1.ContainerState {
	return waiting("CrashLoopBackOff", fmt.Sprintf("back-off %v restarting failed container", s.Delay))
}
func (s Terminating) Status() corev1.ContainerState { return s.From.Status() }

func waiting(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

// ShouldRestart applies a pod's restartPolicy to an exit code, as the kubelet does.
func ShouldRestart(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	default: // Always, and the API's default when unset
		return true
	}
}

// Backoff is the kubelet's restart back-off: the first restart is
// immediate, then Initial, doubling up to Max.
type Backoff struct {
	Initial, Max time.Duration
}

// Delay is the wait before restart number restarts+1.
func (b Backoff) Delay(restarts int32) time.Duration {
	if restarts <= 0 {
		return 0
	}
	d := b.Initial
	for i := int32(1); i < restarts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
