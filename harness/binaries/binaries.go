package binaries

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Names of the binaries in a Set.
const (
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	Kubectl               = "kubectl"
	Etcd                  = "etcd"
	Kwok                  = "kwok"
	Kwokctl               = "kwokctl"
	Kind                  = "kind"
	Kubelet               = "kubelet"
	Kubeadm               = "kubeadm"
	KubeProxy             = "kube-proxy"
	Crictl                = "crictl"
	CoreDNS               = "coredns"
	LocalPathProvisioner  = "local-path-provisioner"
)

// KubernetesVersion is the Kubernetes release the binaries are built from.
const KubernetesVersion = "v1.37.0"

// Binary describes one binary: the file name in the cache, the package in
// the tools module it is built from, and the arguments that make it print
// its version (used to check that a freshly built file runs).
type Binary struct {
	Name        string
	Package     string
	VersionArgs []string
}

// All lists every binary of a Set in build order: the ones a kwok cluster
// needs first.
var All = []Binary{
	{KubeAPIServer, "k8s.io/kubernetes/cmd/kube-apiserver", []string{"--version"}},
	{Etcd, "go.etcd.io/etcd/server/v3", []string{"--version"}},
	{Kwok, "sigs.k8s.io/kwok/cmd/kwok", []string{"--version"}},
	{Kwokctl, "sigs.k8s.io/kwok/cmd/kwokctl", []string{"--version"}},
	{KubeControllerManager, "k8s.io/kubernetes/cmd/kube-controller-manager", []string{"--version"}},
	{KubeScheduler, "k8s.io/kubernetes/cmd/kube-scheduler", []string{"--version"}},
	{Kubectl, "k8s.io/kubernetes/cmd/kubectl", []string{"version", "--client"}},
	{Kind, "sigs.k8s.io/kind", []string{"version"}},
}

// KindNodeTools is the folder of the tools module, beside tools/, that pins
// the binaries only a kind node image needs. It has its own go.mod, so its
// cache key, and with it the kwok binaries, are independent of it.
const KindNodeTools = "kindnode"

// KindNode lists the binaries only a kind node image needs, built from the
// tools/kindnode module (pass it with WithCatalogue and that module's
// folder with WithToolsDir). Nothing builds them unless kind is selected.
var KindNode = []Binary{
	{Kubelet, "k8s.io/kubernetes/cmd/kubelet", []string{"--version"}},
	{Kubeadm, "k8s.io/kubernetes/cmd/kubeadm", []string{"version", "-o", "short"}},
	{KubeProxy, "k8s.io/kubernetes/cmd/kube-proxy", []string{"--version"}},
	{Crictl, "sigs.k8s.io/cri-tools/cmd/crictl", []string{"--version"}},
	{CoreDNS, "github.com/kubeworkshop/kubeworkshop/tools/kindnode/coredns", []string{"-version"}},
}

// LocalPathTools is the folder of the tools module, beside tools/, that
// pins kind's default StorageClass provisioner. A module of its own keeps
// the provisioner's Kubernetes libraries at its own pins.
const LocalPathTools = "localpath"

// LocalPath lists the binaries built from the tools/localpath module.
var LocalPath = []Binary{
	{LocalPathProvisioner, "github.com/rancher/local-path-provisioner", []string{"--version"}},
}

// recipe is part of the cache key: changing how binaries are built must
// select a new cache folder, just as changing a pinned version does.
var recipe = []string{"-trimpath", "-ldflags", ldflags()}

func ldflags() string {
	major, minor := "1", "37"
	var b strings.Builder
	b.WriteString("-s -w")
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fmt.Fprintf(&b, " -X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean",
			pkg, KubernetesVersion, pkg, major, pkg, minor, pkg)
	}
	return b.String()
}

// Sentinel errors callers can test with errors.Is.
var (
	// ErrToolsModuleNotFound means no tools/go.mod was found above the
	// working directory and none was given with WithToolsDir.
	ErrToolsModuleNotFound = errors.New("tools module not found")
	// ErrMissing means a binary is not in the cache and building was
	// disabled with WithBuild(false).
	ErrMissing = errors.New("binary not built yet")
	// ErrCorrupt means a cached binary does not match the checksum or size
	// recorded when it was built.
	ErrCorrupt = errors.New("cached binary is corrupt")
)

// Set is a directory of built binaries for one cache key.
type Set struct {
	dir string
	key string
}

// Dir is the directory holding every binary of the Set. It is laid out the
// way envtest expects, so it can be used as KUBEBUILDER_ASSETS.
func (s *Set) Dir() string { return s.dir }

// Key is the cache key: a hash of tools/go.mod, tools/go.sum and the recipe.
func (s *Set) Key() string { return s.key }

// Path is the absolute path of the named binary.
func (s *Set) Path(name string) string { return filepath.Join(s.dir, name) }

type options struct {
	progress io.Writer
	cacheDir string
	toolsDir string
	build    bool
	verify   bool
	repair   bool
	only     []string
	bins     []Binary // the catalogue: All unless WithCatalogue replaces it
}

// Option configures Ensure.
type Option func(*options)

// WithProgress sets where build progress is printed (default: io.Discard).
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithCacheDir overrides the cache root (default: CacheRoot()).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithToolsDir sets the directory of the tools module (default: found by
// walking up from the working directory).
func WithToolsDir(dir string) Option { return func(o *options) { o.toolsDir = dir } }

// WithBuild controls whether missing binaries are built (default true).
// With false, Ensure fails with ErrMissing instead.
func WithBuild(build bool) Option { return func(o *options) { o.build = build } }

// WithVerify makes Ensure check every cached binary against the SHA-256
// recorded when it was built, instead of only its size (which costs a few
// seconds for all of them).
func WithVerify(verify bool) Option { return func(o *options) { o.verify = verify } }

// WithRepair makes Ensure rebuild a cached binary found corrupt instead of
// failing with ErrCorrupt (default false: a corrupt binary is a surprise
// the user should hear about; `go tool mage tools` repairs).
func WithRepair(repair bool) Option { return func(o *options) { o.repair = repair } }

// WithCatalogue sets the binaries Ensure knows (default: All), for
// example KindNode.
func WithCatalogue(bins []Binary) Option { return func(o *options) { o.bins = bins } }

// WithOnly limits Ensure to the named binaries (default: All).
func WithOnly(names ...string) Option { return func(o *options) { o.only = names } }

// CacheRoot is the per-user directory under which the workshop keeps
// binaries and cluster state: $KUBEWORKSHOP_CACHE if set, otherwise
// kubeworkshop/ under os.UserCacheDir().
func CacheRoot() (string, error) {
	if dir := os.Getenv("KUBEWORKSHOP_CACHE"); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find user cache directory (set KUBEWORKSHOP_CACHE): %w", err)
	}
	return filepath.Join(base, "kubeworkshop"), nil
}

// FindToolsDir walks up from dir to find the repository's tools module.
func FindToolsDir(dir string) (string, error) {
	root, err := repo.Root(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrToolsModuleNotFound, err)
	}
	return filepath.Join(root, "tools"), nil
}

// Key computes the cache key of a tools module directory.
func Key(toolsDir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(toolsDir, f))
		if err != nil {
			return "", fmt.Errorf("read tools module: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "recipe %q\n", recipe)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Ensure returns the Set for the tools module, building any binary that is
// missing (or, with WithVerify, corrupt). A warm call only stats files.
func Ensure(ctx context.Context, opts ...Option) (*Set, error) {
	o := options{progress: io.Discard, build: true, bins: All}
	for _, opt := range opts {
		opt(&o)
	}
	if o.toolsDir == "" {
		var err error
		if o.toolsDir, err = FindToolsDir(""); err != nil {
			return nil, err
		}
	}
	if o.cacheDir == "" {
		root, err := CacheRoot()
		if err != nil {
			return nil, err
		}
		o.cacheDir = root
	}
	// The cache root also holds cluster certificates, keys and kubeconfigs:
	// its owner's alone.
	if err := os.MkdirAll(o.cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	if err := os.Chmod(o.cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict cache directory: %w", err)
	}
	key, err := Key(o.toolsDir)
	if err != nil {
		return nil, err
	}
	set := &Set{dir: filepath.Join(o.cacheDir, "tools", key), key: key}
	wanted, err := selectBinaries(o.bins, o.only)
	if err != nil {
		return nil, err
	}

	todo, err := set.check(wanted, o.verify, o.build && o.repair)
	if err != nil || len(todo) == 0 {
		return set, err
	}
	if !o.build {
		names := make([]string, len(todo))
		for i, b := range todo {
			names[i] = b.Name
		}
		return nil, fmt.Errorf("%w: %s missing from %s: run `go tool mage tools`", ErrMissing, strings.Join(names, ", "), set.dir)
	}

	if err := os.MkdirAll(set.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	unlock, err := Lock(ctx, filepath.Join(set.dir, ".lock"), o.progress)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have built the binaries while we waited.
	if todo, err = set.check(todo, o.verify, o.repair); err != nil || len(todo) == 0 {
		return set, err
	}
	if err := set.build(ctx, o, todo); err != nil {
		return nil, err
	}
	return set, nil
}

func selectBinaries(all []Binary, names []string) ([]Binary, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []Binary
	for _, n := range names {
		found := false
		for _, b := range all {
			if b.Name == n {
				out = append(out, b)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown binary %q", n)
		}
	}
	return out, nil
}

// check returns the binaries that need building. A binary whose recorded
// size or checksum does not match is corrupt: it is returned for rebuilding
// when rebuild is true, and reported as ErrCorrupt otherwise.
func (s *Set) check(bins []Binary, verify, rebuild bool) ([]Binary, error) {
	var todo []Binary
	for _, b := range bins {
		switch err := s.checkOne(b, verify); {
		case err == nil:
		case errors.Is(err, os.ErrNotExist):
			todo = append(todo, b)
		case errors.Is(err, ErrCorrupt) && rebuild:
			todo = append(todo, b)
		default:
			return nil, err
		}
	}
	return todo, nil
}

func (s *Set) checkOne(b Binary, verify bool) error {
	path := s.Path(b.Name)
	sumFile, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fields := strings.Fields(string(sumFile))
	if len(fields) != 2 {
		return corrupt(path, "unreadable checksum file")
	}
	size, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil || size != fi.Size() {
		return corrupt(path, fmt.Sprintf("size %d, recorded %s", fi.Size(), fields[1]))
	}
	if !verify {
		return nil
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	if sum != fields[0] {
		return corrupt(path, "checksum mismatch")
	}
	return nil
}

func corrupt(path, why string) error {
	return fmt.Errorf("%w: %s (%s): run `go tool mage tools` to rebuild it", ErrCorrupt, path, why)
}

// build compiles the binaries with one `go build`, so that packages shared
// between them are compiled once and links overlap with compiles, into a
// temporary directory; each binary is then run, checksummed and renamed
// into place. Progress names each binary as it lands.
func (s *Set) build(ctx context.Context, o options, todo []Binary) error {
	tmp, err := os.MkdirTemp(s.dir, ".build-")
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(tmp)

	names := make([]string, len(todo))
	pkgs := make([]string, len(todo))
	for i, b := range todo {
		names[i], pkgs[i] = b.Name, b.Package
	}
	fmt.Fprintf(o.progress, "building %s into %s (a cold build takes several minutes)\n", strings.Join(names, ", "), s.dir)
	start := time.Now()
	total := countStale(ctx, o.toolsDir, pkgs)
	// -v names each package as it is compiled: counted against total, that
	// is the progress a learner watches on a cold machine.
	args := append(append([]string{"build", "-v", "-o", tmp + string(os.PathSeparator)}, recipe...), pkgs...)
	cmd := buildStopper.Command(ctx, "go", args...)
	cmd.Dir = o.toolsDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	// go build's output and the progress reports reach o.progress at the
	// same time.
	progress := &proc.SyncWriter{W: o.progress}
	compiled := &packageCounter{out: progress}
	cmd.Stdout, cmd.Stderr = progress, compiled
	stop := reportProgress(progress, tmp, todo, start, compiled, total)
	err = cmd.Run()
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build %s: %w", strings.Join(names, ", "), ctx.Err())
		}
		return fmt.Errorf("build %s: %w", strings.Join(names, ", "), err)
	}
	for _, b := range todo {
		if err := s.install(ctx, b, filepath.Join(tmp, execName(b.Package))); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.progress, "built %d binaries in %s\n", len(todo), time.Since(start).Round(time.Second))
	return nil
}

// execName is the file name `go build -o dir/` gives a main package: its
// last path element, or the one before a major-version suffix (/v3).
func execName(pkg string) string {
	elems := strings.Split(pkg, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		return elems[len(elems)-2]
	}
	return last
}

// buildStopper stops an interrupted build the way Ctrl-C does: go build
// then ends its compilers itself.
var buildStopper = proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(3*time.Second))

// countStale returns how many packages the build of pkgs (with the
// recipe's flags) has to compile, as go list reports them stale, or 0 when
// it cannot tell; progress then shows the count alone.
func countStale(ctx context.Context, dir string, pkgs []string) int {
	args := append(append([]string{"list", "-deps", "-f", "{{if .Stale}}x{{end}}"}, recipe...), pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return 0
	}
	return strings.Count(string(out), "x")
}

// packageCounter counts the package names `go build -v` prints on stderr
// and passes every other line (compile errors) on to out.
type packageCounter struct {
	out     io.Writer
	mu      sync.Mutex
	partial []byte
	n       atomic.Int64
}

func (c *packageCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := c.partial[:i]
		if len(line) > 0 && !bytes.ContainsAny(line, " \t:") && line[0] != '#' {
			c.n.Add(1)
		} else {
			_, _ = c.out.Write(c.partial[:i+1])
		}
		c.partial = c.partial[i+1:]
	}
}

// Compiled is how many packages have been compiled so far.
func (c *packageCounter) Compiled() int { return int(c.n.Load()) }

// reportProgress prints each binary as it appears in dir, and every 5 s how
// many packages have been compiled out of total (when known), until the
// returned stop function is called.
func reportProgress(w io.Writer, dir string, todo []Binary, start time.Time, compiled *packageCounter, total int) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		seen := map[string]bool{}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		lastNews := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for _, b := range todo {
				if seen[b.Name] {
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, execName(b.Package))); err == nil {
					seen[b.Name] = true
					fmt.Fprintf(w, "[%d/%d] %s linked after %s\n", len(seen), len(todo), b.Name, time.Since(start).Round(time.Second))
				}
			}
			if time.Since(lastNews) >= 5*time.Second {
				lastNews = time.Now()
				n := compiled.Compiled()
				switch {
				case total > 0:
					fmt.Fprintf(w, "      compiled %d of %d packages (%d%%), %d of %d binaries linked, %s elapsed\n",
						min(n, total), total, 100*min(n, total)/total, len(seen), len(todo), time.Since(start).Round(time.Second))
				default:
					fmt.Fprintf(w, "      compiled %d packages, %d of %d binaries linked, %s elapsed\n", n, len(seen), len(todo), time.Since(start).Round(time.Second))
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// install checks that a freshly built binary runs, records its checksum
// and size, and renames it into place. The checksum file is written first:
// a binary without one is never trusted.
func (s *Set) install(ctx context.Context, b Binary, built string) error {
	out, err := exec.CommandContext(ctx, built, b.VersionArgs...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("run freshly built %s %s: %w\n%s", b.Name, strings.Join(b.VersionArgs, " "), err, out)
	}
	sum, err := fileSHA256(built)
	if err != nil {
		return err
	}
	fi, err := os.Stat(built)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.Path(b.Name)+".sha256", fmt.Sprintf("%s %d\n", sum, fi.Size())); err != nil {
		return err
	}
	if err := os.Rename(built, s.Path(b.Name)); err != nil {
		return fmt.Errorf("install %s: %w", b.Name, err)
	}
	return nil
}

func writeFileAtomic(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Lock takes an exclusive advisory lock on path so that two processes never
// build into the same cache folder at once (harness/kindimage uses it too).
// While another process holds it (a cold build takes minutes) it says so
// once and keeps trying until ctx ends, so Ctrl-C is honoured.
func Lock(ctx context.Context, path string, progress io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock binary cache: %w", err)
	}
	for waited := false; ; waited = true {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock binary cache: %w", err)
		}
		if !waited {
			fmt.Fprintf(progress, "another process is building into %s; waiting for it\n", filepath.Dir(path))
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the binary cache lock: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
