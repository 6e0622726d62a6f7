package bench

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// watchOf returns a podWatch whose store holds pods.
func watchOf(t *testing.T, pods ...*corev1.Pod) *podWatch {
	t.Helper()
	w := &podWatch{ns: "ns", store: cache.NewStore(cache.MetaNamespaceKeyFunc), gone: map[string]bool{}, owner: map[string]string{}}
	for _, p := range pods {
		if err := w.store.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// owned is a pod controlled by PodSet owner; terminating sets its
// deletionTimestamp.
func owned(name, owner string, terminating bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "workshop.example.com/v1alpha1", Kind: "PodSet", Name: owner, UID: "uid-owner", Controller: ptr.To(true),
	}}}}
	if terminating {
		p.DeletionTimestamp = ptr.To(metav1.Now())
	}
	return p
}

func TestPodWatchCountsActiveOwnedPods(t *testing.T) {
	w := watchOf(t,
		owned("a-1", "a", false), owned("a-2", "a", false), owned("a-3", "a", true),
		owned("b-1", "b", false),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "decoy"}},
	)
	if got, want := w.active(), map[string]int32{"a": 2, "b": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("active() = %v, want %v (terminating and unowned pods do not count)", got, want)
	}
	if got := w.ownedCount(); got != 4 {
		t.Errorf("ownedCount() = %d, want 4 (terminating pods count until they are gone)", got)
	}
}

func TestPodWatchReportsOvershoot(t *testing.T) {
	w := watchOf(t, owned("a-1", "a", false), owned("a-2", "a", false), owned("b-1", "b", false))
	got := w.overshoot(map[string]int32{"a": 1, "b": 1}, 150*time.Millisecond)
	if len(got) != 1 || !strings.Contains(got[0], "PodSet a has 2 pods") {
		t.Errorf("overshoot() = %q, want one violation for PodSet a", got)
	}
	if got := w.overshoot(map[string]int32{"a": 2, "b": 1}, 150*time.Millisecond); len(got) != 0 {
		t.Errorf("overshoot() = %q for a converged namespace, want none", got)
	}
}

func TestPodWatchChecksDecoys(t *testing.T) {
	adopted := owned("decoy-b", "b", false)
	w := watchOf(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "decoy-a"}}, adopted)
	w.gone["decoy-c"] = true
	got := w.decoysIntact([]string{"decoy-a", "decoy-b", "decoy-c", "decoy-d"})
	want := []string{
		"look-alike pod decoy-b was adopted",
		"look-alike pod decoy-c, which no PodSet owns, was deleted",
		"look-alike pod decoy-d, which no PodSet owns, was deleted",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoysIntact() = %q,\nwant %q", got, want)
	}
}
