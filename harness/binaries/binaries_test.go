package binaries

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeTools writes a tiny tools module with two main packages, so the cache
// logic is exercised without compiling Kubernetes.
func fakeTools(t *testing.T, brokenPkg bool) (string, []Binary) {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/faketools\n\ngo 1.26.0\n")
	write("go.sum", "")
	write("one/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"one v1\") }\n")
	body := "package main\n\nfunc main() {}\n"
	if brokenPkg {
		body = "package main\n\nfunc main() { undefined() }\n"
	}
	write("two/main.go", body)
	return dir, []Binary{
		{Name: "one", Package: "./one", VersionArgs: []string{"--version"}},
		{Name: "two", Package: "./two"},
	}
}

func ensure(t *testing.T, ctx context.Context, tools, cache string, bins []Binary, opts ...Option) (*Set, error) {
	t.Helper()
	all := append([]Option{WithToolsDir(tools), WithCacheDir(cache), func(o *options) { o.bins = bins }}, opts...)
	return Ensure(ctx, all...)
}

func TestEnsureBuildsOnceAndReuses(t *testing.T) {
	tools, bins := fakeTools(t, false)
	cache := t.TempDir()
	var progress bytes.Buffer
	set, err := ensure(t, t.Context(), tools, cache, bins, WithProgress(&progress))
	if err != nil {
		t.Fatalf("cold Ensure: %v\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "building one, two into") || !strings.Contains(progress.String(), "built 2 binaries") {
		t.Errorf("progress does not name each binary:\n%s", progress.String())
	}
	for _, b := range bins {
		if _, err := os.Stat(set.Path(b.Name)); err != nil {
			t.Errorf("%s not installed: %v", b.Name, err)
		}
	}
	before, _ := os.Stat(set.Path("one"))

	progress.Reset()
	again, err := ensure(t, t.Context(), tools, cache, bins, WithProgress(&progress), WithVerify(true))
	if err != nil {
		t.Fatalf("warm Ensure: %v", err)
	}
	if progress.Len() != 0 {
		t.Errorf("warm Ensure printed build progress: %q", progress.String())
	}
	after, _ := os.Stat(again.Path("one"))
	if !after.ModTime().Equal(before.ModTime()) || again.Dir() != set.Dir() {
		t.Errorf("warm Ensure rebuilt or moved the binaries")
	}
	left, _ := filepath.Glob(filepath.Join(set.Dir(), ".build-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestCacheRootIsPrivate(t *testing.T) {
	tools, bins := fakeTools(t, false)
	// A cache root that exists already, readable by all, is tightened: it
	// also holds cluster certificates, keys and kubeconfigs.
	cache := filepath.Join(t.TempDir(), "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ensure(t, t.Context(), tools, cache, bins); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o700 {
		t.Errorf("cache root mode = %o, want 700", mode)
	}
}

func TestKeyFollowsPinnedVersions(t *testing.T) {
	tools, _ := fakeTools(t, false)
	k1, err := Key(tools)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tools, "go.sum"), []byte("example.com/x v1.0.0 h1:abc=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k2, err := Key(tools)
	if err != nil {
		t.Fatal(err)
	}
	if k1 == k2 {
		t.Errorf("key %s did not change when go.sum changed", k1)
	}
}

func TestCorruptBinary(t *testing.T) {
	tests := []struct {
		name      string
		corrupt   func(path string) error
		opts      []Option
		wantError bool // otherwise: rebuilt
	}{
		{"truncated is reported by the quick check", func(p string) error { return os.Truncate(p, 10) }, nil, true},
		{"truncated is repaired by the quick check", func(p string) error { return os.Truncate(p, 10) }, []Option{WithRepair(true)}, false},
		{"same size, different bytes passes the quick check", flipByte, nil, false},
		{"same size, different bytes is reported when verifying", flipByte, []Option{WithVerify(true)}, true},
		{"same size, different bytes is repaired when verifying", flipByte, []Option{WithVerify(true), WithRepair(true)}, false},
		{"missing checksum file is rebuilt", func(p string) error { return os.Remove(p + ".sha256") }, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools, bins := fakeTools(t, false)
			cache := t.TempDir()
			set, err := ensure(t, t.Context(), tools, cache, bins)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.corrupt(set.Path("one")); err != nil {
				t.Fatal(err)
			}
			_, err = ensure(t, t.Context(), tools, cache, bins, tt.opts...)
			if tt.wantError {
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "go tool mage tools") {
					t.Fatalf("want ErrCorrupt naming the fix, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want a rebuild, got %v", err)
			}
			if err := set.checkOne(bins[0], len(tt.opts) > 0); err != nil {
				t.Errorf("after Ensure: %v", err)
			}
		})
	}
}

func flipByte(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0xff
	return os.WriteFile(p, b, 0o755)
}

func TestFailedOrInterruptedBuildLeavesNothing(t *testing.T) {
	t.Run("compile error", func(t *testing.T) {
		tools, bins := fakeTools(t, true)
		cache := t.TempDir()
		_, err := ensure(t, t.Context(), tools, cache, bins)
		if err == nil || !strings.Contains(err.Error(), "build one, two") {
			t.Fatalf("want a build error naming the binary, got %v", err)
		}
		assertNoPartialFiles(t, cache, "one")
		assertNoPartialFiles(t, cache, "two")
	})
	t.Run("cancelled", func(t *testing.T) {
		tools, bins := fakeTools(t, false)
		cache := t.TempDir()
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel()
		<-ctx.Done()
		_, err := ensure(t, ctx, tools, cache, bins)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the context error, got %v", err)
		}
		assertNoPartialFiles(t, cache, "one")
	})
}

func assertNoPartialFiles(t *testing.T, cache, name string) {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasPrefix(d.Name(), ".build-") || d.Name() == name) {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 0 {
		t.Errorf("partial build output left behind: %v", found)
	}
}

func TestMissingWithoutBuild(t *testing.T) {
	tools, bins := fakeTools(t, false)
	_, err := ensure(t, t.Context(), tools, t.TempDir(), bins, WithBuild(false))
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "one, two") {
		t.Fatalf("want ErrMissing naming both binaries, got %v", err)
	}
}

func TestFindToolsDir(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(filepath.Join(root, "tools"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := FindToolsDir(deep); !errors.Is(err, ErrToolsModuleNotFound) {
		t.Fatalf("without go.mod: want ErrToolsModuleNotFound, got %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "tools", "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FindToolsDir(deep)
	if err != nil || got != filepath.Join(root, "tools") {
		t.Fatalf("FindToolsDir = %q, %v", got, err)
	}
}

func TestExecName(t *testing.T) {
	for pkg, want := range map[string]string{
		"go.etcd.io/etcd/server/v3":            "server",
		"k8s.io/kubernetes/cmd/kube-apiserver": "kube-apiserver",
		"sigs.k8s.io/kind":                     "kind",
		"./one":                                "one",
		"example.com/v2tool":                   "v2tool",
	} {
		if got := execName(pkg); got != want {
			t.Errorf("execName(%q) = %q, want %q", pkg, got, want)
		}
	}
}

func TestConcurrentEnsureBuildsOnce(t *testing.T) {
	tools, bins := fakeTools(t, false)
	cache := t.TempDir()
	const callers = 3
	var progress [callers]bytes.Buffer
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			_, err := ensure(t, t.Context(), tools, cache, bins, WithProgress(&progress[i]))
			errs <- err
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Ensure: %v", err)
		}
	}
	builds := 0
	for i := range callers {
		builds += strings.Count(progress[i].String(), "built 2 binaries")
	}
	if builds != 1 {
		t.Errorf("want exactly one build among %d concurrent callers, got %d", callers, builds)
	}
}

func TestLockWaitHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	unlock, err := Lock(t.Context(), path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var progress bytes.Buffer
	if _, err := Lock(ctx, path, &progress); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock: want the context error, got %v", err)
	}
	if !strings.Contains(progress.String(), "another process is building") {
		t.Errorf("waiting was not reported: %q", progress.String())
	}
}

func TestPackageCounterCountsPackagesAndPassesErrorsOn(t *testing.T) {
	var out bytes.Buffer
	c := &packageCounter{out: &out}
	// Written in odd pieces, as a pipe delivers them.
	for _, chunk := range []string{"k8s.io/api/core/v1\nk8s.io/apim", "achinery/pkg/runtime\n# k8s.io/broken\n", "broken/x.go:3:1: syntax error\nmain\n"} {
		if _, err := c.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Compiled(); got != 3 {
		t.Errorf("Compiled() = %d, want 3 (two library packages and main)", got)
	}
	if want := "# k8s.io/broken\nbroken/x.go:3:1: syntax error\n"; out.String() != want {
		t.Errorf("passed on %q, want the error lines %q", out.String(), want)
	}
}
