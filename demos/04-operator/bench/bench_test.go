package bench

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

func TestParallel(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		n       int
		failAt  int // -1: never
		wantErr error
	}{
		{"nothing to do", 0, -1, nil},
		{"all succeed", 100, -1, nil},
		{"first error wins and stops the rest", 100, 10, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[int]int{}
			err := parallel(context.Background(), tt.n, 4, func(_ context.Context, i int) error {
				mu.Lock()
				seen[i]++
				mu.Unlock()
				if i == tt.failAt {
					return boom
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
			if tt.wantErr == nil && len(seen) != tt.n {
				t.Errorf("ran %d of %d", len(seen), tt.n)
			}
		})
	}
}

func TestPeakRSS(t *testing.T) {
	rss, err := peakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || rss > 64<<30 {
		t.Errorf("peak RSS of the test process = %d bytes, not plausible", rss)
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want float64
	}{
		{"as fast as the raw loop", Result{RawReady: time.Minute, OperatorReady: time.Minute}, 1},
		{"twice as slow", Result{RawReady: time.Minute, OperatorReady: 2 * time.Minute}, 0.5},
		{"not measured", Result{RawReady: time.Minute}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Ratio(); got != tt.want {
				t.Errorf("Ratio() = %v, want %v", got, tt.want)
			}
		})
	}
}
