package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/e2e"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// E2ETag is the build tag of e2e suites.
const E2ETag = "e2e"

// ErrNoSuite means SUITE matched no e2e suite.
var ErrNoSuite = errors.New("no such e2e suite")

// Suite is an e2e suite: a package with test files built only with the e2e tag.
type Suite struct {
	Name       string // directory relative to the repository root
	ImportPath string
}

// Suites lists the repository's e2e suites.
func (r *Runner) Suites(ctx context.Context) ([]Suite, error) {
	out, err := r.Output(ctx, "go", "list", "-tags", E2ETag, "-f",
		`{{.ImportPath}}|{{.Dir}}|{{join .TestGoFiles ","}},{{join .XTestGoFiles ","}}`, "./...")
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	var suites []Suite
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			continue
		}
		for _, f := range strings.Split(parts[2], ",") {
			if f != "" && hasBuildTag(filepath.Join(parts[1], f), E2ETag) {
				rel, err := filepath.Rel(r.Root, parts[1])
				if err != nil {
					rel = parts[1]
				}
				suites = append(suites, Suite{Name: filepath.ToSlash(rel), ImportPath: parts[0]})
				break
			}
		}
	}
	sort.Slice(suites, func(i, j int) bool { return suites[i].Name < suites[j].Name })
	return suites, nil
}

// hasBuildTag reports whether a Go file's //go:build line mentions tag.
func hasBuildTag(path, tag string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if expr, ok := strings.CutPrefix(line, "//go:build "); ok {
			for _, w := range strings.FieldsFunc(expr, func(r rune) bool { return strings.ContainsRune(" ()!&|", r) }) {
				if w == tag {
					return true
				}
			}
			return false
		}
		if line != "" && !strings.HasPrefix(line, "//") {
			return false
		}
	}
	return false
}

// SelectSuites keeps the suites whose name equals one of the
// comma-separated wants or has it as one of its path elements
// (SUITE=smoke, SUITE=demos/01-pod-lister/e2e, SUITE=01-pod-lister,smoke).
// Empty want keeps all.
func SelectSuites(all []Suite, want string) ([]Suite, error) {
	if want == "" {
		return all, nil
	}
	var out []Suite
	for _, s := range all {
		for _, w := range strings.Split(want, ",") {
			w = strings.Trim(filepath.ToSlash(strings.TrimSpace(w)), "/")
			if w != "" && (s.Name == w || strings.Contains("/"+s.Name+"/", "/"+w+"/")) {
				out = append(out, s)
				break
			}
		}
	}
	if len(out) == 0 {
		names := make([]string, len(all))
		for i, s := range all {
			names[i] = s.Name
		}
		return nil, fmt.Errorf("%w %q (SUITE): available suites are %s", ErrNoSuite, want, strings.Join(names, ", "))
	}
	return out, nil
}

// RaceEnv is the environment variable that turns on the race detector for
// the unit tests (TEST_RACE=1); CI sets it, so a data race fails CI.
const RaceEnv = "TEST_RACE"

// TestBinaries names the pinned binaries `go tool mage test` needs, so that
// it builds them in one go before the first test: kube-apiserver and etcd
// for the envtest suites among the unit tests, kubectl for the e2e suites,
// and what the provider runs on this machine. Nothing else is built: kind,
// for example, on first use (`go tool mage bin`).
func TestBinaries(p *cluster.Provider) []string {
	names := []string{binaries.KubeAPIServer, binaries.Etcd, binaries.Kubectl}
	for _, n := range p.Binaries() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// UnitTests runs every test that needs no cluster: go test ./... without
// the e2e tag (envtest suites included), with the race detector when race
// is true.
//
// A test binary stopped by Ctrl-C runs no cleanup, and the envtest control
// plane it started (etcd and kube-apiserver, each in a process group of its
// own) would outlive it. A ginkgo suite stopped by Ctrl-C does clean up, but
// may take longer than the stop policy allows, and is then killed. So go
// test runs under a reaper (proc.Starter.UnderReaper) outside its process
// group, which applies the stop policy to it and then stops whatever the
// tests left running, passed, failed or stopped.
func (r *Runner) UnitTests(ctx context.Context, race bool) error {
	args := []string{"./..."}
	if race {
		args = []string{"-race", "./..."}
	}
	r.Logf("unit tests: go test %s", strings.Join(args, " "))
	// A test binary killed mid-run leaves its temporary files behind:
	// envtest's etcd data (over 100 MB each time) and the go command's work
	// directory. Everything the run writes to TMPDIR goes into a directory
	// of its own, removed when the run ends, however it ends.
	tmp, err := os.MkdirTemp("", "kubeworkshop-unit-")
	if err != nil {
		return fmt.Errorf("make the unit tests' TMPDIR: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd, err := r.gotestsum(ctx, stopper, []string{"TMPDIR=" + tmp}, "unit", args...)
	if err != nil {
		return err
	}
	return r.run(ctx, cmd, stopper.UnderReaper)
}

// artifacts is where test reports, failure dumps and cluster logs go:
// $KUBEWORKSHOP_ARTIFACTS (e2e.ArtifactsEnv) if set, so that a run nested
// in another (the lifecycle specs run targets) keeps its reports apart,
// else _artifacts/ at the repository root.
func (r *Runner) artifacts() string {
	if d := os.Getenv(e2e.ArtifactsEnv); d != "" {
		return d
	}
	return filepath.Join(r.Root, "_artifacts")
}

// gotestsum builds the command that runs go test through gotestsum, with
// a junit report named after name.
func (r *Runner) gotestsum(ctx context.Context, s proc.Starter, env []string, name string, args ...string) (*exec.Cmd, error) {
	junit := filepath.Join(r.artifacts(), "junit-"+name+".xml")
	if err := os.MkdirAll(filepath.Dir(junit), 0o755); err != nil {
		return nil, err
	}
	// gotestsum runs as the command itself, not under `go tool`: `go tool`
	// passes every signal on to the tool, so a stop signal sent to the
	// group reached gotestsum twice. gotestsum forwards the first to go test
	// and dies of the second, and then go test and the test binaries die of
	// SIGPIPE at their next line of output, before their cleanup has run: a
	// stopped README suite left its cluster behind that way.
	bin, err := r.Output(ctx, "go", "tool", "-n", "gotestsum")
	if err != nil {
		return nil, fmt.Errorf("find gotestsum: %w", err)
	}
	gargs := append([]string{"--format", "pkgname-and-test-fails", "--junitfile", junit, "--"}, args...)
	cmd := r.commandWith(ctx, s, env, strings.TrimSpace(bin), gargs...)
	cmd.Args[0] = "gotestsum" // its name in errors and in ps, not the build cache's path
	return cmd, nil
}

// e2eFlags are the go test flags of every e2e run, the soak's included.
// The suites mostly wait on the cluster, so more of them run at once than
// there are cores: the longest (the READMEs, three minutes) then starts at
// once instead of after the first two slots free up.
func e2eFlags() []string {
	return []string{"-tags", E2ETag, "-count=1", "-timeout", "30m", "-p", strconv.Itoa(max(4, runtime.NumCPU()))}
}

// E2E runs the given suites against the cluster of p, bringing it up when
// needed and deleting it afterwards only if this call created it, even
// when the suites fail or ctx is cancelled.
func (r *Runner) E2E(ctx context.Context, p *cluster.Provider, suites []Suite) (err error) {
	if len(suites) == 0 {
		return errors.New("no e2e suites found")
	}
	r.Logf("cluster: %s %q", p.ProviderName(), p.Name())
	release, err := p.UpForRun(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, release()) }()
	names := make([]string, len(suites))
	pkgs := make([]string, len(suites))
	for i, s := range suites {
		names[i], pkgs[i] = s.Name, s.ImportPath
	}
	r.Logf("e2e suites: %s", strings.Join(names, ", "))
	env := []string{e2e.KubeconfigEnv + "=" + p.KubeconfigPath()}
	cmd, err := r.gotestsum(ctx, suiteStopper, env, "e2e", append(e2eFlags(), pkgs...)...)
	if err != nil {
		return err
	}
	if err := r.runUntil(ctx, cmd, suiteStopper.UnderReaper, true); err != nil {
		if ctx.Err() == nil {
			r.exportLogs(ctx, p)
		}
		return fmt.Errorf("e2e suites failed (state dumps of failed specs are under %s): %w", r.artifacts(), err)
	}
	return nil
}

// exportLogs saves the control plane's logs next to the failure dumps,
// before a cluster this run created is deleted. Providers without logs
// (existing) are skipped quietly.
func (r *Runner) exportLogs(ctx context.Context, p *cluster.Provider) {
	dir := filepath.Join(r.artifacts(), "cluster-logs")
	if err := p.ExportLogs(ctx, dir); err != nil {
		if !errors.Is(err, cluster.ErrUnsupported) {
			r.Logf("could not export the cluster's logs: %v", err)
		}
		return
	}
	r.Logf("cluster logs written to %s", dir)
}
