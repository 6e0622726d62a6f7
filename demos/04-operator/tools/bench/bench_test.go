package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParallelTreatsAlreadyExistsAsDone(t *testing.T) {
	exists := apierrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "p-1")
	boom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		err     error
		wantErr error
	}{
		{"already exists is done", exists, nil},
		{"other errors still fail", boom, boom},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ran atomic.Int64
			err := parallel(t.Context(), 20, 4, func(_ context.Context, i int) error {
				ran.Add(1)
				if i == 1 {
					return tt.err
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && ran.Load() != 20 {
				t.Errorf("ran %d of 20", ran.Load())
			}
		})
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
