package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Causes of a container's termination, as its status message says them.
var (
	ErrPodDeleted   = errors.New("the pod was deleted")
	ErrAgentStopped = errors.New("the node agent stopped")
)

// deps is what a pod worker needs from the agent.
type deps struct {
	cs            kubernetes.Interface
	events        record.EventRecorder
	store         *Store
	logs          *Logs
	backoff       Backoff
	hostIP        string
	volumeRoot    string
	defaultMemory uint64
}

// podWorker owns one pod: it runs a state machine per container and
// reports their states as the pod's status. Updates of the pod object
// arrive on updates (latest wins).
type podWorker struct {
	rt      *deps
	log     logr.Logger
	updates chan *corev1.Pod
	done    chan struct{}
}

func newPodWorker(rt *deps, log logr.Logger) *podWorker {
	return &podWorker{rt: rt, log: log, updates: make(chan *corev1.Pod, 1), done: make(chan struct{})}
}

// update hands the worker the newest version of its pod.
func (w *podWorker) update(pod *corev1.Pod) {
	select {
	case <-w.updates: // drop the stale one
	default:
	}
	w.updates <- pod
}

type stateUpdate struct {
	i int
	s State
}

// run drives pod until it is deleted (or removed) or ctx ends, which
// means the agent stops: then every module is stopped and reported.
func (w *podWorker) run(ctx context.Context, pod *corev1.Pod) {
	defer close(w.done)
	api := context.WithoutCancel(ctx) // the last status must reach the API even as the agent stops
	if pod.DeletionTimestamp != nil { // deleted while no worker ran it (the agent restarted)
		w.finishDeletion(api, pod)
		return
	}
	if bad := Unsupported(pod); len(bad) > 0 {
		w.reject(api, pod, bad)
		w.awaitDeletion(ctx, pod)
		return
	}
	states := make([]State, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		states[i] = adopt(pod, c.Name, w.rt.backoff)
	}
	// Only this worker stops its containers, saying why: the pod was
	// deleted, or the agent stops (ctx ends).
	run, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	changed := make(chan stateUpdate, 4*len(states))
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		wait := make(chan struct{}, len(states))
		for i := range states {
			go func() { w.runContainer(run, pod, i, states[i], changed); wait <- struct{}{} }()
		}
		for range states {
			<-wait
		}
	}()
	var last corev1.PodStatus
	stopping := false // the agent stops: report, then return
	report := func() {
		st := PodStatus(pod, states, w.rt.hostIP, time.Now())
		if apiequality.Semantic.DeepEqual(st, last) {
			return
		}
		if err := patchStatus(api, w.rt.cs, pod, st); err != nil {
			w.log.Error(err, "reporting pod status")
			return
		}
		last = st
	}
	for {
		select {
		case u := <-changed:
			states[u.i] = u.s
			drain(changed, states)
			report()
		case p := <-w.updates:
			if p == nil { // the pod is gone from the API (force-deleted)
				stop(ErrPodDeleted)
				if finished != nil {
					<-finished
				}
				_ = w.rt.logs.Remove(pod.Namespace, pod.Name, string(pod.UID))
				return
			}
			pod = p
			if pod.DeletionTimestamp != nil && context.Cause(run) == nil {
				w.log.Info("pod deleted; stopping its modules", "gracePeriod", ptrOr(pod.DeletionGracePeriodSeconds, 30))
				stop(ErrPodDeleted)
				if finished == nil { // nothing runs: a pod that had ended
					w.finishDeletion(api, pod)
					return
				}
			}
		case <-finished:
			finished = nil // every container is final, or stopped
			drain(changed, states)
			report()
			if pod.DeletionTimestamp != nil {
				w.finishDeletion(api, pod)
				return
			}
			if stopping {
				return
			}
		case <-ctx.Done():
			if finished == nil {
				return
			}
			stop(ErrAgentStopped)
			stopping = true
			ctx = context.Background() // never done again: wait for finished, then report
		}
	}
}

// drain applies every state change that is waiting, so one report covers them.
func drain(changed <-chan stateUpdate, states []State) {
	for {
		select {
		case u := <-changed:
			states[u.i] = u.s
		default:
			return
		}
	}
}

// adopt finds where a container stands from the status the API holds: a
// new pod starts Resolving; a pod the agent ran before it restarted picks
// up its restart count, and a run that the restart ended counts as exited.
func adopt(pod *corev1.Pod, name string, b Backoff) State {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != name {
			continue
		}
		h := History{Restarts: cs.RestartCount, Last: cs.LastTerminationState.Terminated, Started: cs.LastTerminationState.Terminated != nil}
		switch {
		case cs.State.Terminated != nil:
			e := Exited{History: h, Terminated: *cs.State.Terminated}
			e.Started = true
			if !ShouldRestart(pod.Spec.RestartPolicy, e.Terminated.ExitCode) {
				return e
			}
			c := e.BackOff(b.Delay(e.Restarts + 1))
			return Resolving{History: c.History}
		case cs.State.Running != nil:
			e := Exited{History: h, Terminated: corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: "Error", Message: "the node agent restarted while this ran",
				StartedAt: cs.State.Running.StartedAt, FinishedAt: metav1.Now(), ContainerID: cs.ContainerID,
			}}
			if !ShouldRestart(pod.Spec.RestartPolicy, 137) {
				return e
			}
			return Resolving{History: e.BackOff(0).History}
		default:
			return Resolving{History: h}
		}
	}
	return Resolving{}
}

// runContainer steps one container's machine until it reaches a final
// state, sending every state it enters to changed.
func (w *podWorker) runContainer(ctx context.Context, pod *corev1.Pod, i int, s State, changed chan<- stateUpdate) {
	c := &containerRun{w: w, pod: pod, c: pod.Spec.Containers[i]}
	log := w.log.WithValues("container", c.c.Name)
	changed <- stateUpdate{i, s}
	for !c.final(ctx, s) {
		next := c.step(ctx, s)
		if next.Name() != s.Name() {
			log.V(1).Info("transition", "from", s.Name(), "to", next.Name())
			c.event(next)
		}
		s = next
		changed <- stateUpdate{i, s}
	}
}

// event records what a kubelet would say, in `kubectl describe pod`, on
// entering state s.
func (c *containerRun) event(s State) {
	rec := c.w.rt.events
	if rec == nil {
		return
	}
	switch s := s.(type) {
	case Starting:
		rec.Eventf(c.pod, corev1.EventTypeNormal, "Pulled", "Module %q resolved to %s", c.c.Image, s.Module.Digest)
	case Running:
		rec.Eventf(c.pod, corev1.EventTypeNormal, "Started", "Started container %s", c.c.Name)
	case ErrImagePull:
		rec.Eventf(c.pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.c.Image, s.Err)
	case ImagePullBackOff:
		rec.Eventf(c.pod, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.c.Image)
	case StartFailed:
		rec.Eventf(c.pod, corev1.EventTypeWarning, "Failed", "Error: %s", s.Message)
	case CrashLoopBackOff:
		rec.Eventf(c.pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s", c.c.Name)
	case Terminating:
		rec.Eventf(c.pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", c.c.Name)
	}
}

// Terminable is every state that can be told to stop: all but Exited and
// Terminating itself.
type Terminable interface {
	State
	Terminate() Terminating
}

// containerRun holds what one container's machine needs between steps.
type containerRun struct {
	w       *podWorker
	pod     *corev1.Pod
	c       corev1.Container
	pulls   int32     // failed module look-ups in a row
	fails   int32     // failed starts in a row
	exited  chan Exit // the current run's end
	started time.Time
}

// final reports whether the machine stops in s: an exit that the restart
// policy does not restart, or any exit once the pod is stopping.
func (c *containerRun) final(ctx context.Context, s State) bool {
	e, ok := s.(Exited)
	return ok && (ctx.Err() != nil || !ShouldRestart(c.pod.Spec.RestartPolicy, e.Terminated.ExitCode))
}

// step does the work of state s and returns the state it leads to. Every
// return is a transition method of s's type.
func (c *containerRun) step(ctx context.Context, s State) State {
	if t, ok := s.(Terminable); ok && ctx.Err() != nil {
		return t.Terminate()
	}
	switch s := s.(type) {
	case Resolving:
		m, err := c.w.rt.store.Resolve(ctx, c.c.Image)
		if err != nil {
			if ctx.Err() != nil {
				return s.Terminate()
			}
			return s.Failed(err)
		}
		c.pulls = 0
		return s.Resolved(m)
	case ErrImagePull:
		c.pulls++
		return s.BackOff(c.w.rt.backoff.Delay(c.pulls))
	case ImagePullBackOff:
		if !sleep(ctx, s.Delay) {
			return s.Terminate()
		}
		return s.Retry()
	case Starting:
		return c.start(ctx, s)
	case StartFailed:
		c.fails++
		if !sleep(ctx, c.w.rt.backoff.Delay(c.fails)) {
			return s.Terminate()
		}
		return s.Retry()
	// START step OMIT
	case Running:
		select {
		case e := <-c.exited:
			c.exited = nil
			return s.Exited(e.Code, e.Reason, e.Message, time.Now())
		case <-ctx.Done():
			return s.Terminate()
		}
	case Exited:
		return s.BackOff(c.w.rt.backoff.Delay(s.Restarts)) // the first restart is immediate
	case CrashLoopBackOff:
		if !sleep(ctx, s.Delay) {
			return s.Terminate()
		}
		return s.Retry()
		// END step OMIT
	case Terminating:
		cause := context.Cause(ctx)
		if _, ok := s.From.(Running); ok {
			e := <-c.exited
			c.exited = nil
			return s.Stopped(e.Code, e.Reason, "stopped: "+cause.Error(), time.Now())
		}
		return s.Stopped(137, "Error", cause.Error(), time.Now())
	}
	panic(fmt.Sprintf("no step for state %T", s))
}

// start prepares and launches a run; the module runs in its own goroutine
// and its end arrives on c.exited.
func (c *containerRun) start(ctx context.Context, s Starting) State {
	rt := c.w.rt
	pod := c.pod.DeepCopy()
	pod.Status.HostIP = rt.hostIP // for env from status.hostIP / status.podIP before the first report
	spec, err := runSpec(ctx, rt.cs, pod, c.c, rt.volumeRoot, rt.defaultMemory)
	if err != nil {
		return s.Failed("CreateContainerConfigError", err.Error())
	}
	logf, err := rt.logs.Create(LogRef{Namespace: c.pod.Namespace, Pod: c.pod.Name, UID: string(c.pod.UID), Container: c.c.Name}, s.Restarts)
	if err != nil {
		return s.Failed("RunContainerError", err.Error())
	}
	c.fails = 0
	spec.Stdout, spec.Stderr, spec.Owner = logf, logf, string(c.pod.UID)
	c.exited = make(chan Exit, 1)
	exited := c.exited
	go func() {
		e := rt.store.Run(ctx, s.Module, spec, nil)
		_ = logf.Close()
		exited <- e
	}()
	id := fmt.Sprintf("wasm://%s/%s/%d", c.pod.UID, c.c.Name, s.Restarts)
	return s.Started(id, time.Now())
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reject reports a pod the node cannot run as Failed, as the kubelet
// reports a pod it does not admit.
func (w *podWorker) reject(ctx context.Context, pod *corev1.Pod, bad []string) {
	w.log.Info("rejecting pod", "unsupported", bad)
	st := pod.Status.DeepCopy()
	st.Phase = corev1.PodFailed
	st.Reason = "UnsupportedPodSpec"
	st.Message = "Pod was rejected: this node runs WebAssembly modules and does not support " + strings.Join(bad, ", ")
	if err := patchStatus(ctx, w.rt.cs, pod, *st); err != nil {
		w.log.Error(err, "reporting the rejection")
	}
}

func (w *podWorker) awaitDeletion(ctx context.Context, pod *corev1.Pod) {
	for pod.DeletionTimestamp == nil {
		select {
		case <-ctx.Done():
			return
		case pod = <-w.updates:
			if pod == nil {
				return
			}
		}
	}
	w.finishDeletion(context.WithoutCancel(ctx), pod)
}

// finishDeletion removes the pod object once its modules are stopped and
// its final status is reported: grace period 0, and only this very pod
// (UID precondition), as the kubelet does.
func (w *podWorker) finishDeletion(ctx context.Context, pod *corev1.Pod) {
	// START delete OMIT
	uid := pod.UID
	err := w.rt.cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptrTo[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	// END delete OMIT
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.log.Error(err, "deleting the stopped pod")
	}
	_ = w.rt.logs.Remove(pod.Namespace, pod.Name, string(pod.UID))
	w.log.Info("pod deleted")
}

// patchStatus writes st as pod's status with a merge patch on the status
// subresource; the UID in the patch makes it fail for a pod re-created
// under the same name.
func patchStatus(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, st corev1.PodStatus) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": st})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("patch status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
