package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
)

// SoakResult is one suite's record over a soak.
type SoakResult struct {
	Suite    string
	Passed   int
	Failed   int
	Failures []int // the runs (1-based) it failed in
}

// Soak runs the suites count times in a row on one cluster (brought up once,
// deleted afterwards only if this call created it) and returns each suite's
// passes and failures. A flake is a failure in any run: the error says so
// after every run has been made, and the failed runs' state dumps stay
// under _artifacts/soak/run-N/.
func (r *Runner) Soak(ctx context.Context, p *cluster.Provider, suites []Suite, count int) (_ []SoakResult, err error) {
	if len(suites) == 0 {
		return nil, errors.New("no e2e suites found")
	}
	if count < 1 {
		return nil, fmt.Errorf("COUNT=%d: want at least one run", count)
	}
	r.Logf("cluster: %s %q", p.ProviderName(), p.Name())
	release, err := p.UpForRun(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, release()) }()
	results := make([]SoakResult, len(suites))
	byPkg := map[string]*SoakResult{}
	pkgs := make([]string, len(suites))
	for i, s := range suites {
		results[i].Suite = s.Name
		byPkg[s.ImportPath] = &results[i]
		pkgs[i] = s.ImportPath
	}
	for run := 1; run <= count; run++ {
		start := time.Now()
		artifacts := filepath.Join(r.artifacts(), "soak", fmt.Sprintf("run-%d", run))
		outcome, err := r.soakRun(ctx, p, pkgs, artifacts)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		if err != nil {
			return results, fmt.Errorf("soak run %d: %w", run, err)
		}
		var failed []string
		for pkg, ok := range outcome {
			res := byPkg[pkg]
			if res == nil {
				continue
			}
			if ok {
				res.Passed++
			} else {
				res.Failed++
				res.Failures = append(res.Failures, run)
				failed = append(failed, res.Suite)
			}
		}
		for pkg, res := range byPkg {
			if _, seen := outcome[pkg]; !seen {
				res.Failed++ // built no result at all: a failure too
				res.Failures = append(res.Failures, run)
				failed = append(failed, res.Suite+" (no result)")
			}
		}
		status := "all passed"
		if len(failed) > 0 {
			status = "FAILED: " + strings.Join(failed, ", ")
		}
		r.Logf("soak run %d/%d in %s: %s", run, count, time.Since(start).Round(time.Second), status)
	}
	for _, res := range results {
		if res.Failed > 0 {
			return results, fmt.Errorf("%s failed in runs %v of %d (state dumps under %s)", res.Suite, res.Failures, count, filepath.Join(r.artifacts(), "soak"))
		}
	}
	return results, nil
}

// soakRun runs the packages once with go test -json and returns, per
// package, whether it passed. The test binaries write their failure dumps
// under artifacts.
func (r *Runner) soakRun(ctx context.Context, p *cluster.Provider, pkgs []string, artifacts string) (map[string]bool, error) {
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		return nil, err
	}
	env := []string{e2e.KubeconfigEnv + "=" + p.KubeconfigPath(), e2e.ArtifactsEnv + "=" + artifacts}
	args := append(append([]string{"test", "-json"}, e2eFlags()...), pkgs...)
	// The suites stop as in the e2e stage (suiteStopper): under a reaper,
	// with time to delete the clusters they made.
	cmd := r.commandWith(ctx, suiteStopper, env, "go", args...)
	path := filepath.Join(artifacts, "go-test.json")
	log, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	// The report goes to a file, not through a pipe to this process: when
	// the soak is stopped it returns at once (as in E2E, its cluster is
	// deleted within mage's grace), and suites still stopping must not die
	// of SIGPIPE at their next line of output, before their cleanup.
	cmd.Stdout = log
	err = r.runUntil(ctx, cmd, suiteStopper.UnderReaper, true)
	var exit interface{ ExitCode() int }
	if err != nil && (ctx.Err() != nil || !errors.As(err, &exit)) {
		return nil, err // stopped, or go test did not run; failed suites are a result
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTestJSON(f)
}

// ParseTestJSON reads `go test -json` output and returns each package's
// final outcome: true for pass, false for fail.
func ParseTestJSON(r io.Reader) (map[string]bool, error) {
	outcome := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Action  string
			Package string
			Test    string
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // build output that is not an event
		}
		if ev.Test != "" || ev.Package == "" {
			continue
		}
		switch ev.Action {
		case "pass":
			outcome[ev.Package] = true
		case "fail":
			outcome[ev.Package] = false
		}
	}
	return outcome, sc.Err()
}

// PrintSoak prints the per-suite table of a soak.
func PrintSoak(w io.Writer, results []SoakResult, count int) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tPASSED\tFAILED\tFAILED IN RUNS")
	for _, r := range results {
		runs := "-"
		if len(r.Failures) > 0 {
			runs = strings.Trim(fmt.Sprint(r.Failures), "[]")
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%s\n", r.Suite, r.Passed, count, r.Failed, runs)
	}
	return tw.Flush()
}
