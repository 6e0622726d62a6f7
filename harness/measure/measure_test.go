package measure

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

func TestParallel(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		n         int
		failAt    int // -1: never
		cancelAt  int // -1: never; cancels the caller's context at that index
		wantErr   error
		wantAll   bool // every index ran exactly once
		wantFewer bool // the loop stopped early
	}{
		{"nothing to do", 0, -1, -1, nil, true, false},
		{"all succeed", 100, -1, -1, nil, true, false},
		{"first error wins and stops the rest", 1000, 10, -1, boom, false, true},
		{"an interrupted run reports the interruption", 1000, -1, 10, context.Canceled, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var mu sync.Mutex
			seen := map[int]int{}
			err := Parallel(ctx, tt.n, 4, func(ctx context.Context, i int) error {
				mu.Lock()
				seen[i]++
				mu.Unlock()
				switch stop := max(tt.failAt, tt.cancelAt); {
				case i == tt.failAt:
					return boom
				case i == tt.cancelAt:
					cancel()
				case stop >= 0 && i > stop:
					// Later items hold their worker until the stop has
					// cancelled the calls' context, so the stop is seen
					// however the workers are scheduled: at most one item
					// per other worker runs after it.
					<-ctx.Done()
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			for i, n := range seen {
				if n != 1 {
					t.Errorf("index %d ran %d times", i, n)
				}
			}
			if tt.wantAll && len(seen) != tt.n {
				t.Errorf("ran %d of %d", len(seen), tt.n)
			}
			if stop := max(tt.failAt, tt.cancelAt); tt.wantFewer && len(seen) > stop+4 {
				t.Errorf("ran %d items; after a stop at %d at most one more per worker (4) may run", len(seen), stop)
			}
		})
	}
}

func TestParallelBoundsConcurrency(t *testing.T) {
	var running, peak atomic.Int64
	gate := make(chan struct{})
	go func() {
		for range 40 {
			gate <- struct{}{}
		}
	}()
	err := Parallel(t.Context(), 40, 3, func(context.Context, int) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-gate
		running.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 3 || p < 1 {
		t.Errorf("peak concurrency %d, want 1..3", p)
	}
}

func TestPeakRSS(t *testing.T) {
	rss, err := PeakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || rss > 64<<30 {
		t.Errorf("peak RSS of the test process = %d bytes, not plausible", rss)
	}
	if _, err := PeakRSS(-1); err == nil {
		t.Error("want an error for a process that does not exist")
	}
}
