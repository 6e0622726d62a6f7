//go:build e2e

package readme

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/docrun"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

func TestREADMEs(t *testing.T) {
	if p := os.Getenv("CLUSTER_PROVIDER"); p != "" && p != cluster.Kwok {
		t.Skipf("the READMEs are checked on kwok clusters of their own; CLUSTER_PROVIDER=%s", p)
	}
	// Stop signals keep being caught until the cleanups below have run: a
	// second Ctrl-C must not kill the binary before it has deleted its
	// cluster.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	t.Cleanup(stop)
	root, err := repo.Root("")
	if err != nil {
		t.Fatal(err)
	}
	readmes, err := filepath.Glob(filepath.Join(root, "demos", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(readmes)
	readmes = append([]string{filepath.Join(root, "README.md")}, readmes...)

	name := fmt.Sprintf("readme-%d", time.Now().UnixNano()%1_000_000)
	env := learnerEnv(t, name)
	// Stopped, the suite deletes its cluster once the README command at
	// work has stopped, not before: that command (a nested `go tool mage`)
	// brings the cluster up itself and could put it back. Deleting kills
	// the components first, so it fits the pipeline's grace.
	t.Cleanup(func() {
		p, err := cluster.New(cluster.WithName(name), cluster.WithSwitchContext(false))
		if err == nil {
			_ = p.Down(context.Background())
		}
	})
	for _, readme := range readmes {
		if ctx.Err() != nil {
			break
		}
		rel, _ := filepath.Rel(root, readme)
		t.Run(rel, func(t *testing.T) {
			blocks, err := docrun.Parse(readme)
			if err != nil {
				t.Fatal(err)
			}
			r := &docrun.Runner{Dir: root, Env: env, Log: logWriter{t}}
			if err := r.Run(ctx, blocks); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// learnerEnv is a learner's terminal: this environment without the
// cluster settings of the test run, a CLUSTER_NAME of its own, and a home
// directory of its own (so cluster:up's kubeconfig edits stay here). Go's
// and the workshop's caches are kept.
func learnerEnv(t *testing.T, clusterName string) []string {
	t.Helper()
	vars := []string{"GOCACHE", "GOMODCACHE", "GOPATH"}
	out, err := exec.Command("go", append([]string{"env"}, vars...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	values := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(values) != len(vars) {
		t.Fatalf("go env %v printed %q", vars, out)
	}
	keep := map[string]string{}
	for i, v := range vars {
		keep[v] = values[i]
	}
	cache, err := binaries.CacheRoot()
	if err != nil {
		t.Fatal(err)
	}
	// mage keeps compiled magefiles under $HOME/.magefile: keep using the
	// real one, or every README command would compile the magefiles again,
	// writing magefiles/mage_output_file.go while another suite's mage
	// reads the same folder.
	mageCache := os.Getenv("MAGEFILE_CACHE")
	if mageCache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		mageCache = filepath.Join(home, ".magefile")
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "CLUSTER_"), strings.HasPrefix(k, "KIND_"), k == "KUBECONFIG", k == "SUITE", k == "HOME", k == "MAGEFILE_CACHE":
			continue
		case keep[k] != "":
			continue
		}
		env = append(env, kv)
	}
	for k, v := range keep {
		env = append(env, k+"="+v)
	}
	return append(env, "HOME="+t.TempDir(), "CLUSTER_NAME="+clusterName, "KUBEWORKSHOP_CACHE="+cache, "MAGEFILE_CACHE="+mageCache)
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
