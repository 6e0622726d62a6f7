package bench

import (
	"strings"
	"testing"
)

func TestOptionsFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    Options
		wantErr string
	}{
		{"unset variables keep the values", nil, Options{PodSets: 7, Burst: 9}, ""},
		{"every variable", map[string]string{"BENCH_PODSETS": "10", "BENCH_QPS": "2.5", "BENCH_BURST": "5", "BENCH_MAX_CONCURRENT": "3"},
			Options{PodSets: 10, QPS: 2.5, Burst: 5, MaxConcurrent: 3}, ""},
		{"a value that is not a number", map[string]string{"BENCH_PODSETS": "many"}, Options{}, `BENCH_PODSETS="many"`},
		{"a negative count", map[string]string{"BENCH_BURST": "-1"}, Options{}, `BENCH_BURST="-1": must not be negative`},
		{"a bad QPS", map[string]string{"BENCH_QPS": "fast"}, Options{}, `BENCH_QPS="fast"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{PodSets: 7, Burst: 9}
			err := o.FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromEnv() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o != tt.want {
				t.Errorf("FromEnv() set %+v, want %+v", o, tt.want)
			}
		})
	}
}

func TestChaosOptionsFromEnv(t *testing.T) {
	o := ChaosOptions{PodSets: 1}
	if err := o.FromEnv(func(k string) string { return map[string]string{"BENCH_KILLS": "12"}[k] }); err != nil {
		t.Fatal(err)
	}
	if o.PodSets != 1 || o.Kills != 12 {
		t.Errorf("FromEnv() set PodSets=%d Kills=%d, want 1 and 12", o.PodSets, o.Kills)
	}
	if err := o.FromEnv(func(k string) string { return map[string]string{"BENCH_KILLS": "ten"}[k] }); err == nil || !strings.Contains(err.Error(), "BENCH_KILLS") {
		t.Errorf("FromEnv(BENCH_KILLS=ten) = %v, want an error naming the variable", err)
	}
}
