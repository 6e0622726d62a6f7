package agent

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPhase(t *testing.T) {
	run := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	wait := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	exit := func(code int32) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
	}
	cs := func(state, last corev1.ContainerState) corev1.ContainerStatus {
		return corev1.ContainerStatus{State: state, LastTerminationState: last}
	}
	none := corev1.ContainerState{}
	tests := []struct {
		name     string
		policy   corev1.RestartPolicy
		statuses []corev1.ContainerStatus
		deleting bool
		want     corev1.PodPhase
	}{
		{"not started yet", corev1.RestartPolicyAlways, []corev1.ContainerStatus{cs(wait, none)}, false, corev1.PodPending},
		{"running", corev1.RestartPolicyAlways, []corev1.ContainerStatus{cs(run, none)}, false, corev1.PodRunning},
		{"one runs, one waits", corev1.RestartPolicyAlways, []corev1.ContainerStatus{cs(run, none), cs(wait, none)}, false, corev1.PodRunning},
		{"Never, exit 0", corev1.RestartPolicyNever, []corev1.ContainerStatus{cs(exit(0), none)}, false, corev1.PodSucceeded},
		{"Never, exit 1", corev1.RestartPolicyNever, []corev1.ContainerStatus{cs(exit(1), none)}, false, corev1.PodFailed},
		{"Never, one of two failed", corev1.RestartPolicyNever, []corev1.ContainerStatus{cs(exit(0), none), cs(exit(1), none)}, false, corev1.PodFailed},
		{"OnFailure, exit 0", corev1.RestartPolicyOnFailure, []corev1.ContainerStatus{cs(exit(0), none)}, false, corev1.PodSucceeded},
		{"OnFailure, crash-looping", corev1.RestartPolicyOnFailure, []corev1.ContainerStatus{cs(wait, exit(1))}, false, corev1.PodRunning},
		{"Always, crash-looping", corev1.RestartPolicyAlways, []corev1.ContainerStatus{cs(wait, exit(1))}, false, corev1.PodRunning},
		{"Always, exited 0 and about to restart", corev1.RestartPolicyAlways, []corev1.ContainerStatus{cs(exit(0), none)}, false, corev1.PodRunning},
		{"deleted after it was stopped", corev1.RestartPolicyAlways, []corev1.ContainerStatus{cs(exit(137), none)}, true, corev1.PodFailed},
		{"deleted after it completed", corev1.RestartPolicyAlways, []corev1.ContainerStatus{cs(exit(0), none)}, true, corev1.PodSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Phase(tt.policy, tt.statuses, tt.deleting); got != tt.want {
				t.Errorf("phase %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPodStatus(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mod := &Module{Name: "fail", Digest: "sha256:ab"}
	crashing := Starting{Module: mod}.Started("wasm://u/app/0", now.Add(-time.Second)).Exited(1, "Error", "", now).BackOff(10 * time.Second)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyAlways,
			Containers:    []corev1.Container{{Name: "app", Image: "fail"}, {Name: "side", Image: "ticker"}},
		},
	}
	running := Starting{Module: &Module{Name: "ticker", Digest: "sha256:cd"}}.Started("wasm://u/side/0", now)
	st := PodStatus(pod, []State{crashing, running}, "127.0.0.1", now)

	if st.Phase != corev1.PodRunning || st.HostIP != "127.0.0.1" || st.PodIP != "127.0.0.1" || st.StartTime == nil {
		t.Errorf("phase/hostIP/podIP/startTime = %s/%s/%s/%v", st.Phase, st.HostIP, st.PodIP, st.StartTime)
	}
	app, side := st.ContainerStatuses[0], st.ContainerStatuses[1]
	if app.State.Waiting == nil || app.State.Waiting.Reason != "CrashLoopBackOff" || app.RestartCount != 1 || app.Ready {
		t.Errorf("app status: %+v", app)
	}
	if l := app.LastTerminationState.Terminated; l == nil || l.ExitCode != 1 || l.Reason != "Error" || !l.FinishedAt.Time.Equal(now) || !l.StartedAt.Time.Equal(now.Add(-time.Second)) {
		t.Errorf("app lastState: %+v", app.LastTerminationState)
	}
	if app.ImageID != "wasm://fail@sha256:ab" {
		t.Errorf("imageID %q", app.ImageID)
	}
	if side.State.Running == nil || !side.Ready || side.ContainerID != "wasm://u/side/0" || side.Started == nil || !*side.Started {
		t.Errorf("side status: %+v", side)
	}
	conds := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range st.Conditions {
		conds[c.Type] = c
	}
	for typ, want := range map[corev1.PodConditionType]corev1.ConditionStatus{
		corev1.PodScheduled: corev1.ConditionTrue, corev1.PodInitialized: corev1.ConditionTrue,
		corev1.ContainersReady: corev1.ConditionFalse, corev1.PodReady: corev1.ConditionFalse,
	} {
		if conds[typ].Status != want {
			t.Errorf("condition %s = %s, want %s", typ, conds[typ].Status, want)
		}
	}
	if conds[corev1.PodReady].Reason != "ContainersNotReady" {
		t.Errorf("Ready reason %q", conds[corev1.PodReady].Reason)
	}

	// Once both run, the pod is Ready; a transition keeps its time on the next report.
	both := PodStatus(pod, []State{running, running}, "127.0.0.1", now)
	pod.Status = both
	later := PodStatus(pod, []State{running, running}, "127.0.0.1", now.Add(time.Minute))
	for _, c := range later.Conditions {
		if c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s = %s with every container running", c.Type, c.Status)
		}
		if !c.LastTransitionTime.Time.Equal(now) {
			t.Errorf("condition %s moved its transition time to %v", c.Type, c.LastTransitionTime)
		}
	}
}

func TestSucceededPodIsNotReady(t *testing.T) {
	now := time.Now()
	pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "app", Image: "hello"}}}}
	done := Starting{Module: &Module{Name: "hello"}}.Started("id", now).Exited(0, "Completed", "", now)
	st := PodStatus(pod, []State{done}, "127.0.0.1", now)
	if st.Phase != corev1.PodSucceeded {
		t.Fatalf("phase %s", st.Phase)
	}
	for _, c := range st.Conditions {
		if c.Type == corev1.PodReady && (c.Status != corev1.ConditionFalse || c.Reason != "PodCompleted") {
			t.Errorf("Ready = %s (%s), want False (PodCompleted)", c.Status, c.Reason)
		}
	}
	if term := st.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("state %+v", st.ContainerStatuses[0].State)
	}
}

func TestUnsupported(t *testing.T) {
	priv := true
	tests := []struct {
		name string
		mod  func(*corev1.Pod)
		want int
	}{
		{"plain", func(*corev1.Pod) {}, 0},
		{"service account token and emptyDir", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			}
		}, 0},
		{"hostNetwork", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, 1},
		{"privileged", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &priv}
		}, 1},
		{"hostPath", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}, 1},
		{"probe and init container", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{}
			p.Spec.InitContainers = []corev1.Container{{Name: "i"}}
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "hello"}}}}
			tt.mod(p)
			if got := Unsupported(p); len(got) != tt.want {
				t.Errorf("Unsupported = %q, want %d findings", got, tt.want)
			}
		})
	}
}
