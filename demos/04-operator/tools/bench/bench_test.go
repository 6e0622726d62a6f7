package bench

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	hbench "github.com/kubeworkshop/kubeworkshop/harness/bench"
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

func TestResultPrintSaysWhetherTheGoalsWereMet(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    Result
		want []string
	}{
		{"fast enough, no errors", Result{Pods: 3000, RawReady: time.Minute, OperatorReady: time.Minute, OperatorPeakRSS: 64 << 20},
			[]string{" 3000\n", "64.0 MiB\n", "ratio operator/raw: 1.00 (goal: at least 0.5) — " + hbench.Verdict(true), "errors other than conflicts: 0 (goal: 0) — " + hbench.Verdict(true)}},
		{"half as fast meets the goal", Result{RawReady: time.Minute, OperatorReady: 2 * time.Minute},
			[]string{"ratio operator/raw: 0.50 (goal: at least 0.5) — " + hbench.Verdict(true)}},
		{"too slow, with errors", Result{RawReady: time.Minute, OperatorReady: 4 * time.Minute, ReconcileErrors: 2, PodOpErrors: 1},
			[]string{"ratio operator/raw: 0.25 (goal: at least 0.5) — " + hbench.Verdict(false), "errors other than conflicts: 3 (goal: 0) — " + hbench.Verdict(false)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if err := tt.r.Print(&out); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("Print() wrote\n%s\nwant it to contain %q", out.String(), w)
				}
			}
		})
	}
}
