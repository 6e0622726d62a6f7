package agent

import (
	"errors"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestTransitions walks every transition of the state machine: the state
// it leads to, and what that state shows in the container's status.
func TestTransitions(t *testing.T) {
	mod := &Module{Name: "hello", Digest: "sha256:00"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pullErr := errors.New(`module "nope" not found`)
	running := Starting{Module: mod}.Started("wasm://uid/app/0", at)
	failed := running.Exited(1, "Error", "", at.Add(time.Second))
	tests := []struct {
		name       string
		next       State
		want       State
		wantReason string // waiting or terminated reason; "" with running
		restarts   int32
	}{
		{"Resolving → Starting", Resolving{}.Resolved(mod), Starting{}, "ContainerCreating", 0},
		{"Resolving → ErrImagePull", Resolving{}.Failed(pullErr), ErrImagePull{}, "ErrImagePull", 0},
		{"ErrImagePull → ImagePullBackOff", ErrImagePull{Err: pullErr}.BackOff(10 * time.Second), ImagePullBackOff{}, "ImagePullBackOff", 0},
		{"ImagePullBackOff → Resolving", ImagePullBackOff{Err: pullErr}.Retry(), Resolving{}, "ContainerCreating", 0},
		{"Starting → Running", Starting{Module: mod}.Started("id", at), Running{}, "", 0},
		{"Starting → StartFailed", Starting{Module: mod}.Failed("CreateContainerConfigError", `configmap "x" not found`), StartFailed{}, "CreateContainerConfigError", 0},
		{"StartFailed → Starting", StartFailed{Module: mod}.Retry(), Starting{}, "ContainerCreating", 0},
		{"Running → Exited (Completed)", running.Exited(0, "Completed", "", at), Exited{}, "Completed", 0},
		{"Running → Exited (Error)", failed, Exited{}, "Error", 0},
		{"Exited → CrashLoopBackOff", failed.BackOff(10 * time.Second), CrashLoopBackOff{}, "CrashLoopBackOff", 1},
		{"CrashLoopBackOff → Starting", failed.BackOff(0).Retry(), Starting{}, "ContainerCreating", 1},
		{"Resolving → Terminating", Resolving{}.Terminate(), Terminating{}, "ContainerCreating", 0},
		{"ErrImagePull → Terminating", ErrImagePull{Err: pullErr}.Terminate(), Terminating{}, "ErrImagePull", 0},
		{"ImagePullBackOff → Terminating", ImagePullBackOff{Err: pullErr}.Terminate(), Terminating{}, "ImagePullBackOff", 0},
		{"Starting → Terminating", Starting{Module: mod}.Terminate(), Terminating{}, "ContainerCreating", 0},
		{"StartFailed → Terminating", StartFailed{Reason: "CreateContainerConfigError"}.Terminate(), Terminating{}, "CreateContainerConfigError", 0},
		{"Running → Terminating", running.Terminate(), Terminating{}, "", 0},
		{"CrashLoopBackOff → Terminating", failed.BackOff(time.Second).Terminate(), Terminating{}, "CrashLoopBackOff", 1},
		{"Terminating (was running) → Exited", running.Terminate().Stopped(137, "Error", "stopped: the pod was deleted", at), Exited{}, "Error", 0},
		{"Terminating (never ran) → Exited", ErrImagePull{Err: pullErr}.Terminate().Stopped(137, "Error", "the pod was deleted", at), Exited{}, "Error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if reflect.TypeOf(tt.next) != reflect.TypeOf(tt.want) {
				t.Fatalf("led to %T, want %T", tt.next, tt.want)
			}
			st := tt.next.Status()
			var got string
			switch {
			case st.Waiting != nil:
				got = st.Waiting.Reason
			case st.Terminated != nil:
				got = st.Terminated.Reason
			case st.Running == nil:
				t.Fatalf("status %+v has no state", st)
			}
			if got != tt.wantReason {
				t.Errorf("reason %q, want %q", got, tt.wantReason)
			}
			if r := HistoryOf(tt.next).Restarts; r != tt.restarts {
				t.Errorf("restarts %d, want %d", r, tt.restarts)
			}
		})
	}
}

// TestTerminableStates pins which states can be told to stop: all but the
// final ones. A state added without Terminate fails here.
func TestTerminableStates(t *testing.T) {
	for _, s := range []State{Resolving{}, ErrImagePull{}, ImagePullBackOff{}, Starting{}, StartFailed{}, Running{}, Exited{}, CrashLoopBackOff{}, Terminating{}} {
		_, ok := s.(Terminable)
		want := s.Name() != "Exited" && s.Name() != "Terminating"
		if ok != want {
			t.Errorf("%s terminable = %v, want %v", s.Name(), ok, want)
		}
	}
}

func TestExitedBackOffKeepsTheRunAsLastState(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := Starting{History: History{Restarts: 2}}.Started("wasm://u/app/2", at)
	c := r.Exited(1, "Error", "", at.Add(time.Second)).BackOff(40 * time.Second)
	if c.Restarts != 3 || c.Last == nil || c.Last.ExitCode != 1 || c.Last.ContainerID != "wasm://u/app/2" || !c.Last.FinishedAt.Time.Equal(at.Add(time.Second)) {
		t.Errorf("after back-off: %+v (last %+v), want restart 3 with the exit as lastState", c.History, c.Last)
	}
	if msg := c.Status().Waiting.Message; msg != "back-off 40s restarting failed container" {
		t.Errorf("message %q", msg)
	}
}

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy corev1.RestartPolicy
		code   int32
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{"", 0, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 2, true},
		{corev1.RestartPolicyNever, 0, false},
		{corev1.RestartPolicyNever, 1, false},
	}
	for _, tt := range tests {
		if got := ShouldRestart(tt.policy, tt.code); got != tt.want {
			t.Errorf("ShouldRestart(%q, %d) = %v, want %v", tt.policy, tt.code, got, tt.want)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 10 * time.Second, Max: 5 * time.Minute}
	for restarts, want := range map[int32]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 6: 5 * time.Minute, 20: 5 * time.Minute} {
		if got := b.Delay(restarts); got != want {
			t.Errorf("Delay(%d) = %v, want %v", restarts, got, want)
		}
	}
}
