package controller

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// expectations remembers the Pods a reconcile created or deleted until the
// informer cache has caught up with them.
//
// Without it, a reconcile triggered by the first of three new Pods would see
// only one Pod in the cache and create two more. ReplicaSets in
// kube-controller-manager solve the same problem the same way, except that
// they count the informer's events while this compares the cache's list: a
// Pod deleted by someone else before the cache ever listed it holds its
// PodSet back until the expectations expire (ttl).
type expectations struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[types.NamespacedName]*expected
}

type expected struct {
	creates map[string]struct{}    // Pod names that must appear in the cache
	deletes map[types.UID]struct{} // Pod UIDs that must disappear or be terminating
	since   time.Time              // when the last expectation was added
}

// newExpectations returns expectations that give up waiting for the cache
// after ttl, so a lost event cannot wedge a PodSet forever.
func newExpectations(ttl time.Duration) *expectations {
	return &expectations{ttl: ttl, now: time.Now, m: map[types.NamespacedName]*expected{}}
}

func (e *expectations) entry(key types.NamespacedName) *expected {
	x, ok := e.m[key]
	if !ok {
		x = &expected{creates: map[string]struct{}{}, deletes: map[types.UID]struct{}{}}
		e.m[key] = x
	}
	x.since = e.now()
	return x
}

// setTTL changes how long expectations wait for the cache.
func (e *expectations) setTTL(ttl time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ttl = ttl
}

// expectCreate records that a Pod named name was created for key.
func (e *expectations) expectCreate(key types.NamespacedName, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.entry(key).creates[name] = struct{}{}
}

// expectDelete records that the Pod with uid was deleted for key.
func (e *expectations) expectDelete(key types.NamespacedName, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.entry(key).deletes[uid] = struct{}{}
}

// satisfied reports whether pods (the cache's view of key's Pods) reflect
// every recorded create and delete. If not, wait is how long until the
// expectations expire; the caller should requeue after it.
func (e *expectations) satisfied(key types.NamespacedName, pods []corev1.Pod) (ok bool, wait time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, found := e.m[key]
	if !found {
		return true, 0
	}
	for i := range pods {
		delete(x.creates, pods[i].Name)
	}
	for uid := range x.deletes {
		if !stillRunning(pods, uid) {
			delete(x.deletes, uid)
		}
	}
	if len(x.creates) == 0 && len(x.deletes) == 0 {
		delete(e.m, key)
		return true, 0
	}
	elapsed := e.now().Sub(x.since)
	if elapsed >= e.ttl {
		delete(e.m, key)
		return true, 0
	}
	return false, e.ttl - elapsed
}

func stillRunning(pods []corev1.Pod, uid types.UID) bool {
	for i := range pods {
		if pods[i].UID == uid {
			return pods[i].DeletionTimestamp == nil
		}
	}
	return false
}

// forget drops everything recorded for key, for a PodSet that is gone.
func (e *expectations) forget(key types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
