package agent

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Module is a WASI module from the store, compiled once and shared by every
// container whose image names it.
type Module struct {
	Name   string // the image's module name, e.g. "hello"
	Digest string // sha256 of the .wasm file, shown as the container's imageID
	code   wazero.CompiledModule
}

// ErrModuleNotFound is wrapped by Resolve when the store has no such module.
var ErrModuleNotFound = errors.New("module not found")

// Store resolves images to compiled modules and runs them. A module is
// compiled the first time a pod asks for it (again only if its file
// changes); wazero's compilation cache keeps the machine code on disk, so
// a restarted agent does not compile again either.
type Store struct {
	dir string
	rt  wazero.Runtime

	mu       sync.Mutex
	modules  map[string]*storeEntry // by module name
	compiles atomic.Int64
	running  sync.Map // *Instance → struct{}
}

type storeEntry struct {
	done    chan struct{}
	key     string // file size and modification time it was compiled from
	mod     *Module
	err     error
	touched time.Time
}

// NewStore opens the module store in dir; cacheDir (if not empty) holds
// wazero's compilation cache. Close the store to free its runtime.
func NewStore(ctx context.Context, dir, cacheDir string) (*Store, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("module store %s is not a directory (fill it with `go tool mage nodeAgent:modules`): %w", dir, errOr(err, fs.ErrNotExist))
	}
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(true)
	if cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("open the compilation cache %s: %w", cacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	return &Store{dir: dir, rt: rt, modules: map[string]*storeEntry{}}, nil
}

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// Close frees the runtime and every compiled module.
func (s *Store) Close(ctx context.Context) error { return s.rt.Close(ctx) }

// Compiles is how many times a module was compiled since the store opened.
func (s *Store) Compiles() int64 { return s.compiles.Load() }

// ModuleName maps a container image to a module name: the last path
// element without tag or digest, so "hello", "hello:1" and
// "example.com/wasm/hello@sha256:…" all name hello.wasm.
func ModuleName(image string) string {
	name := path.Base(image)
	if i := strings.IndexAny(name, "@:"); i >= 0 {
		name = name[:i]
	}
	return strings.TrimSuffix(name, ".wasm")
}

// Resolve returns the compiled module an image names, compiling it if this
// is the first pod that asks (concurrent callers wait for one compilation).
func (s *Store) Resolve(ctx context.Context, image string) (*Module, error) {
	name := ModuleName(image)
	file := filepath.Join(s.dir, name+".wasm")
	st, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %q (from image %q) is not in the module store %s; it has: %s", ErrModuleNotFound, name, image, s.dir, strings.Join(s.names(), ", "))
	}
	key := fmt.Sprintf("%d/%d", st.Size(), st.ModTime().UnixNano())
	s.mu.Lock()
	e, ok := s.modules[name]
	if !ok || (e.key != key && isDone(e.done)) {
		e = &storeEntry{done: make(chan struct{}), key: key}
		s.modules[name] = e
		go s.compile(ctx, e, name, file)
	}
	s.mu.Unlock()
	select {
	case <-e.done:
		return e.mod, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (s *Store) compile(ctx context.Context, e *storeEntry, name, file string) {
	defer close(e.done)
	bin, err := os.ReadFile(file)
	if err != nil {
		e.err = fmt.Errorf("read module %s: %w", file, err)
		return
	}
	sum := sha256.Sum256(bin)
	code, err := s.rt.CompileModule(context.WithoutCancel(ctx), bin)
	if err != nil {
		e.err = fmt.Errorf("compile module %s: %w", file, err)
		return
	}
	s.compiles.Add(1)
	e.mod = &Module{Name: name, Digest: "sha256:" + hex.EncodeToString(sum[:]), code: code}
}

func (s *Store) names() []string {
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.wasm"))
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(filepath.Base(f), ".wasm"))
	}
	if len(out) == 0 {
		return []string{"nothing (fill it with `go tool mage nodeAgent:modules`)"}
	}
	slices.Sort(out)
	return out
}

// Mount makes a directory (Dir) or a file system (FS) visible to the module at Path.
type Mount struct {
	Path     string
	Dir      string
	FS       fs.FS
	ReadOnly bool
}

// RunSpec is one run of a module: what a container spec turns into.
type RunSpec struct {
	Args           []string // after argv[0]
	Env            []string // KEY=value
	Mounts         []Mount
	Stdout, Stderr io.Writer
	MemoryLimit    uint64 // bytes of linear memory the module may use
	Owner          string // who runs it (the agent puts the pod's UID here)
}

// Exit is how a run ended, in the kubelet's terms.
type Exit struct {
	Code    int32
	Reason  string // Completed, Error, OOMKilled
	Message string
}

// Instance is a running module; Memory reports its linear memory.
type Instance struct {
	Owner string
	mem   *limitedMemory
}

// Memory is the bytes of linear memory the instance holds now.
func (i *Instance) Memory() uint64 { return i.mem.size.Load() }

// Running calls fn for every module that runs now.
func (s *Store) Running(fn func(*Instance)) {
	s.running.Range(func(k, _ any) bool { fn(k.(*Instance)); return true })
}

// Run instantiates m, which runs its _start function (main) to the end.
// Cancelling ctx stops the module at once: WASI has no signals, so there is
// nothing gentler to send. started is called once the instance exists.
func (s *Store) Run(ctx context.Context, m *Module, spec RunSpec, started func(*Instance)) Exit {
	mem := &limitedMemory{limit: spec.MemoryLimit}
	inst := &Instance{Owner: spec.Owner, mem: mem}
	s.running.Store(inst, struct{}{})
	defer s.running.Delete(inst)
	fsc := wazero.NewFSConfig()
	for _, mt := range spec.Mounts {
		switch {
		case mt.FS != nil:
			fsc = fsc.WithFSMount(mt.FS, mt.Path)
		case mt.ReadOnly:
			fsc = fsc.WithReadOnlyDirMount(mt.Dir, mt.Path)
		default:
			fsc = fsc.WithDirMount(mt.Dir, mt.Path)
		}
	}
	// START run OMIT
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module may run at once
		WithArgs(append([]string{m.Name}, spec.Args...)...).
		WithStdout(spec.Stdout).WithStderr(spec.Stderr).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(crand.Reader).
		WithFSConfig(fsc)
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		cfg = cfg.WithEnv(k, v)
	}
	if started != nil {
		started(inst)
	}
	mod, err := s.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, mem), m.code, cfg)
	// END run OMIT
	if mod != nil {
		_ = mod.Close(context.WithoutCancel(ctx))
	}
	return exitOf(err, mem, ctx.Err() != nil)
}

// exitOf turns what InstantiateModule returned into an Exit.
func exitOf(err error, mem *limitedMemory, stopped bool) Exit {
	var exit *sys.ExitError
	switch {
	case mem.refused.Load() > 0:
		return Exit{Code: 137, Reason: "OOMKilled", Message: fmt.Sprintf("the module asked for %s of linear memory; the pod's memory limit allows %s", mib(mem.refused.Load()), mib(mem.limit))}
	case stopped:
		return Exit{Code: 137, Reason: "Error", Message: "stopped by the node agent"}
	case err == nil:
		return Exit{Code: 0, Reason: "Completed"}
	case errors.As(err, &exit):
		if exit.ExitCode() == 0 {
			return Exit{Code: 0, Reason: "Completed"}
		}
		return Exit{Code: int32(exit.ExitCode()), Reason: "Error"}
	default: // a trap: unreachable, out-of-bounds access, stack overflow …
		msg := firstLine(err.Error())
		if _, after, ok := strings.Cut(msg, "wasm error: "); ok {
			msg = after
		}
		return Exit{Code: 134, Reason: "Error", Message: "wasm trap: " + msg}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// limitedMemory backs a module's linear memory and refuses to grow it past
// limit: memory.grow then fails inside the module (Go's runtime reports
// "out of memory" and exits), and the refusal is remembered as OOMKilled.
type limitedMemory struct {
	limit   uint64
	buf     []byte
	size    atomic.Uint64
	refused atomic.Uint64 // the size asked for when growth was refused
}

// Allocate implements experimental.MemoryAllocator.
func (m *limitedMemory) Allocate(_, max uint64) experimental.LinearMemory {
	if m.limit == 0 || m.limit > max {
		m.limit = max
	}
	return m
}

// Reallocate implements experimental.LinearMemory.
// START memory OMIT
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused.Store(size)
		return nil
	}
	// END memory OMIT
	if uint64(cap(m.buf)) < size {
		grown := make([]byte, size, min(max(size, uint64(cap(m.buf))*2), m.limit))
		copy(grown, m.buf)
		m.buf = grown
	}
	m.buf = m.buf[:size]
	m.size.Store(size)
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil; m.size.Store(0) }
