package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/exposure"
	"github.com/kubeworkshop/kubeworkshop/harness/kindimage"
)

// Severity of a doctor finding.
type Severity int

// Severities, from fine to blocking.
const (
	OK Severity = iota
	Warn
	Fail
)

func (s Severity) String() string { return [...]string{"ok", "warn", "FAIL"}[s] }

// Check is one doctor finding.
type Check struct {
	Name     string
	Severity Severity
	Detail   string // what was found
	Fix      string // what to do, when not OK
}

// MinGoMinor is the oldest Go 1.x minor release the workshop supports.
const MinGoMinor = 26

// Doctor inspects the machine: Go version, cached binaries (verified
// against their checksums), the cluster settings in the environment, free
// ports, a container engine for kind, and network namespaces for the
// offline check.
func (r *Runner) Doctor(ctx context.Context, getenv func(string) string) []Check {
	checks := []Check{
		r.checkGo(ctx),
		checkBinaries(ctx, r.Root),
		checkClusterEnv(),
		checkPort("API server port", getenv("CLUSTER_API_PORT"), "CLUSTER_API_PORT"),
		checkPort("slides port", portOf(getenv("SLIDES_ADDR"), "3999"), "SLIDES_ADDR"),
		checkContainerRuntime(ctx, getenv("CLUSTER_PROVIDER") == cluster.Kind),
		checkNetns(ctx),
		checkDisk(),
		checkExposure(),
	}
	return append(checks, checkKind(ctx, r.Root, getenv("CLUSTER_PROVIDER") == cluster.Kind)...)
}

// checkKind names each piece a kind cluster needs here that is missing
// (engine, privileged containers, the runtime shim, the node image) and the
// command that fixes it: a failure when kind is selected, a warning
// otherwise.
func checkKind(ctx context.Context, root string, needed bool) []Check {
	var out []Check
	for _, f := range kindimage.Diagnose(ctx, kindimage.WithRepoDir(root)) {
		c := Check{Name: f.Name, Detail: f.Detail}
		if !f.OK {
			c.Severity, c.Fix = Warn, f.Fix
			if needed {
				c.Severity = Fail
			} else {
				c.Fix += " (only for CLUSTER_PROVIDER=kind)"
			}
		}
		out = append(out, c)
	}
	return out
}

// checkExposure fails when a process of any workshop kwok cluster on this
// machine listens on an address other than loopback: every component binds
// 127.0.0.1 unless CLUSTER_LISTEN opted the API server in.
func checkExposure() Check {
	c := Check{Name: "cluster listeners"}
	root, err := binaries.CacheRoot()
	if err != nil {
		return Check{Name: c.Name, Severity: Warn, Detail: err.Error()}
	}
	pids := exposure.ProcessesMentioning(filepath.Join(root, "kwok", "clusters") + "/")
	ls, err := exposure.Listeners(pids)
	if err != nil {
		return Check{Name: c.Name, Severity: Warn, Detail: err.Error()}
	}
	if exposed := exposure.Exposed(ls); len(exposed) > 0 {
		names := make([]string, len(exposed))
		for i, l := range exposed {
			names[i] = l.String()
		}
		c.Severity, c.Detail = Fail, "reachable from the network: "+strings.Join(names, "; ")
		c.Fix = "recreate the cluster without CLUSTER_LISTEN (`go tool mage cluster:down cluster:up`) unless you exposed its API server on purpose"
		return c
	}
	c.Detail = fmt.Sprintf("%d listening sockets of %d cluster processes, all on loopback", len(ls), len(pids))
	return c
}

// PrintChecks prints the findings as a table and reports whether any failed.
func PrintChecks(w io.Writer, checks []Check) (failed bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Severity, c.Detail)
		if c.Severity != OK && c.Fix != "" {
			fmt.Fprintf(tw, "\t\t→ %s\n", c.Fix)
		}
		failed = failed || c.Severity == Fail
	}
	tw.Flush()
	return failed
}

func (r *Runner) checkGo(ctx context.Context) Check {
	c := Check{Name: "go"}
	out, err := r.Output(ctx, "go", "env", "GOVERSION")
	if err != nil {
		return Check{Name: "go", Severity: Fail, Detail: err.Error(), Fix: "install Go 1.26 or newer from go.dev/dl"}
	}
	v := strings.TrimSpace(out)
	c.Detail = v
	var minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(v, "go1."), "%d", &minor); err != nil || minor < MinGoMinor {
		c.Severity, c.Fix = Fail, "install Go 1.26 or newer"
	}
	return c
}

func checkBinaries(ctx context.Context, root string) Check {
	c := Check{Name: "pinned binaries"}
	set, err := binaries.Ensure(ctx, binaries.WithToolsDir(root+"/tools"), binaries.WithBuild(false), binaries.WithVerify(true))
	switch {
	case errors.Is(err, binaries.ErrMissing):
		// Not a fault: every target builds what it needs on first use.
		c.Severity, c.Detail, c.Fix = Warn, err.Error(), "nothing to do: a target builds what it needs on first use (a cold build takes several minutes); `go tool mage tools` builds them all now"
		return c
	case err != nil:
		c.Severity, c.Detail, c.Fix = Fail, err.Error(), "run `go tool mage tools`, which rebuilds a corrupt binary"
		return c
	}
	c.Detail = fmt.Sprintf("%d binaries verified in %s", len(binaries.All), set.Dir())
	return c
}

func checkClusterEnv() Check {
	p, err := cluster.NewFromEnv()
	if err != nil {
		return Check{Name: "cluster settings", Severity: Fail, Detail: err.Error(), Fix: "fix CLUSTER_PROVIDER / CLUSTER_NAME / CLUSTER_API_PORT / CLUSTER_NODES"}
	}
	return Check{Name: "cluster settings", Detail: fmt.Sprintf("provider %s, name %q", p.ProviderName(), p.Name())}
}

func portOf(addr, def string) string {
	if addr == "" {
		return def
	}
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return port
	}
	return addr
}

func checkPort(name, port, env string) Check {
	c := Check{Name: name}
	if port == "" || port == "0" {
		c.Detail = "any free port"
		return c
	}
	if _, err := strconv.Atoi(port); err != nil {
		return Check{Name: name, Severity: Fail, Detail: fmt.Sprintf("%q is not a port", port), Fix: "fix " + env}
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return Check{Name: name, Severity: Warn, Detail: fmt.Sprintf("127.0.0.1:%s is in use", port), Fix: "stop what listens there or set " + env + " to another port"}
	}
	l.Close()
	c.Detail = "127.0.0.1:" + port + " is free"
	return c
}

func checkContainerRuntime(ctx context.Context, needed bool) Check {
	c := Check{Name: "container engine (kind)"}
	rt, err := cluster.DetectContainerRuntime(ctx)
	if err != nil {
		c.Severity, c.Detail = Warn, err.Error()
		c.Fix = "only needed for CLUSTER_PROVIDER=kind; the default kwok provider needs no containers"
		if needed {
			c.Severity = Fail
		}
		return c
	}
	c.Detail = rt + " is running"
	return c
}

func checkNetns(ctx context.Context) Check {
	if err := CheckNetworkNamespaces(ctx); err != nil {
		return Check{Name: "network namespaces (offline)", Severity: Warn, Detail: err.Error(), Fix: "`go tool mage offline` needs them; everything else works without"}
	}
	return Check{Name: "network namespaces (offline)", Detail: "unshare -n works"}
}

func checkDisk() Check {
	c := Check{Name: "disk space"}
	root, err := binaries.CacheRoot()
	if err != nil {
		return Check{Name: c.Name, Severity: Warn, Detail: err.Error()}
	}
	dir := root
	for {
		if _, err := os.Stat(dir); err == nil || dir == "/" {
			break
		}
		dir = filepath.Dir(dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Check{Name: c.Name, Severity: Warn, Detail: err.Error()}
	}
	free := float64(st.Bavail) * float64(st.Bsize) / (1 << 30)
	c.Detail = fmt.Sprintf("%.1f GiB free for %s", free, root)
	if free < 4 {
		c.Severity, c.Fix = Warn, "the binaries and build cache need about 4 GiB; free some space"
	}
	return c
}
