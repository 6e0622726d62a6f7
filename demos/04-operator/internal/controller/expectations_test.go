package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestExpectations(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "ps"}
	running := func(name, uid string) corev1.Pod {
		p := corev1.Pod{}
		p.Name, p.UID = name, types.UID(uid)
		return p
	}
	terminating := func(name, uid string) corev1.Pod {
		p := running(name, uid)
		now := metav1.NewTime(t0)
		p.DeletionTimestamp = &now
		return p
	}
	tests := []struct {
		name     string
		creates  []string
		deletes  []string
		cache    []corev1.Pod
		advance  time.Duration
		wantOK   bool
		wantWait time.Duration
	}{
		{"nothing expected", nil, nil, nil, 0, true, 0},
		{"created pod not in cache yet", []string{"p1"}, nil, nil, time.Second, false, 9 * time.Second},
		{"created pods all observed", []string{"p1", "p2"}, nil, []corev1.Pod{running("p1", "1"), running("p2", "2")}, 0, true, 0},
		{"one of two observed", []string{"p1", "p2"}, nil, []corev1.Pod{running("p1", "1")}, 0, false, 10 * time.Second},
		{"deleted pod still running in cache", nil, []string{"1"}, []corev1.Pod{running("p1", "1")}, 0, false, 10 * time.Second},
		{"deleted pod terminating in cache", nil, []string{"1"}, []corev1.Pod{terminating("p1", "1")}, 0, true, 0},
		{"deleted pod gone from cache", nil, []string{"1"}, nil, 0, true, 0},
		{"expired", []string{"p1"}, nil, nil, 10 * time.Second, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			e := newExpectations(10 * time.Second)
			e.now = func() time.Time { return now }
			for _, n := range tt.creates {
				e.expectCreate(key, n)
			}
			for _, u := range tt.deletes {
				e.expectDelete(key, types.UID(u))
			}
			now = now.Add(tt.advance)
			ok, wait := e.satisfied(key, tt.cache)
			if ok != tt.wantOK || wait != tt.wantWait {
				t.Errorf("satisfied = (%v, %v), want (%v, %v)", ok, wait, tt.wantOK, tt.wantWait)
			}
			if ok {
				if again, _ := e.satisfied(key, nil); !again {
					t.Error("a satisfied key must be dropped")
				}
			}
		})
	}

	t.Run("forget drops pending expectations", func(t *testing.T) {
		e := newExpectations(time.Hour)
		e.expectCreate(key, "p1")
		e.forget(key)
		if ok, _ := e.satisfied(key, nil); !ok {
			t.Error("satisfied after forget = false, want true")
		}
	})
}
