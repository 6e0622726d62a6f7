package bench

import (
	"fmt"
	"slices"
	"strconv"
)

// FromEnv sets the options that getenv (os.Getenv) names: BENCH_PODSETS,
// BENCH_QPS, BENCH_BURST and BENCH_MAX_CONCURRENT. Unset ones keep their
// values.
func (o *Options) FromEnv(getenv func(string) string) error {
	return fromEnv(getenv, map[string]func(string) error{
		"BENCH_PODSETS":        intVar(&o.PodSets),
		"BENCH_QPS":            func(v string) (err error) { o.QPS, err = strconv.ParseFloat(v, 64); return err },
		"BENCH_BURST":          intVar(&o.Burst),
		"BENCH_MAX_CONCURRENT": intVar(&o.MaxConcurrent),
	})
}

// FromEnv sets the options that getenv (os.Getenv) names: BENCH_PODSETS and
// BENCH_KILLS. Unset ones keep their values.
func (o *ChaosOptions) FromEnv(getenv func(string) string) error {
	return fromEnv(getenv, map[string]func(string) error{
		"BENCH_PODSETS": intVar(&o.PodSets),
		"BENCH_KILLS":   intVar(&o.Kills),
	})
}

// intVar parses a variable's value into a non-negative *dst.
func intVar(dst *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		if n < 0 {
			return fmt.Errorf("must not be negative")
		}
		*dst = n
		return nil
	}
}

// fromEnv applies set[name] to the value of every variable that is set, in
// name order, and stops at the first value it cannot take.
func fromEnv(getenv func(string) string, set map[string]func(string) error) error {
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if v := getenv(name); v != "" {
			if err := set[name](v); err != nil {
				return fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	}
	return nil
}
