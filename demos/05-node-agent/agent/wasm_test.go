package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/demos/05-node-agent/modules"
)

// storeDir is a module store the tests share, built once by TestMain;
// cacheDir holds wazero's compiled code, so each test store compiles fast.
var storeDir, cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nodeagent-store-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var log bytes.Buffer
	if err := modules.Build(context.Background(), "../modules", dir, &log); err != nil {
		fmt.Fprintf(os.Stderr, "%s\n%v\n", log.String(), err)
		os.Exit(1)
	}
	storeDir, cacheDir = dir, filepath.Join(dir, "compilation-cache")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := NewStore(t.Context(), storeDir, cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func TestRun(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		image      string
		args, env  []string
		limit      uint64
		want       Exit
		wantStdout string
		wantStderr string
	}{
		{image: "hello", want: Exit{Code: 0, Reason: "Completed"}, wantStdout: "hello, world, from a WebAssembly module\n"},
		{image: "registry.example/hello:1", args: []string{"pods"}, want: Exit{Code: 0, Reason: "Completed"}, wantStdout: "hello, pods, from"},
		{image: "fail", want: Exit{Code: 1, Reason: "Error"}, wantStderr: "exit code 1"},
		{image: "fail", env: []string{"EXIT_CODE=3"}, want: Exit{Code: 3, Reason: "Error"}},
		{image: "env", args: []string{"a b"}, env: []string{"GREETING=hi"}, want: Exit{Code: 0, Reason: "Completed"}, wantStdout: "arg[0]=a b\nGREETING=hi\n"},
		{image: "trap", want: Exit{Code: 134, Reason: "Error", Message: "wasm trap: unreachable"}},
		{image: "oom", limit: 32 << 20, want: Exit{Code: 137, Reason: "OOMKilled"}},
	}
	for _, tt := range tests {
		t.Run(tt.image+strings.Join(tt.env, ","), func(t *testing.T) {
			m, err := s.Resolve(t.Context(), tt.image)
			if err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			got := s.Run(t.Context(), m, RunSpec{Args: tt.args, Env: tt.env, Stdout: &out, Stderr: &errOut, MemoryLimit: tt.limit}, nil)
			if got.Code != tt.want.Code || got.Reason != tt.want.Reason || !strings.HasPrefix(got.Message, tt.want.Message) {
				t.Errorf("exit = %+v, want %+v", got, tt.want)
			}
			if !strings.Contains(out.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", out.String(), tt.wantStdout)
			}
			if !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut.String(), tt.wantStderr)
			}
		})
	}
}

func TestResolveCompilesOnceAndShares(t *testing.T) {
	s := newTestStore(t)
	var wg sync.WaitGroup
	mods := make([]*Module, 8)
	for i := range mods {
		wg.Go(func() {
			m, err := s.Resolve(t.Context(), "hello")
			if err != nil {
				t.Error(err)
			}
			mods[i] = m
		})
	}
	wg.Wait()
	for _, m := range mods[1:] {
		if m != mods[0] {
			t.Fatalf("pods got different compiled modules for one image")
		}
	}
	if got := s.Compiles(); got != 1 {
		t.Errorf("compiled %d times for 8 pods, want once", got)
	}
}

func TestResolveMissingModule(t *testing.T) {
	s := newTestStore(t)
	_, err := s.Resolve(t.Context(), "nope:1")
	if !errors.Is(err, ErrModuleNotFound) {
		t.Fatalf("err = %v, want ErrModuleNotFound", err)
	}
	for _, want := range []string{`"nope"`, "hello", "ticker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	s := newTestStore(t)
	m, err := s.Resolve(t.Context(), "ticker")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan Exit)
	var out syncBuffer
	go func() {
		done <- s.Run(ctx, m, RunSpec{Env: []string{"INTERVAL=10ms"}, Stdout: &out, Stderr: &out}, nil)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "tick 2") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if got := <-done; got.Code != 137 || got.Reason != "Error" {
		t.Errorf("exit = %+v, want 137 Error", got)
	}
}

func TestNewStoreMissingDir(t *testing.T) {
	_, err := NewStore(t.Context(), filepath.Join(t.TempDir(), "none"), "")
	if err == nil || !strings.Contains(err.Error(), "nodeAgent:modules") {
		t.Fatalf("err = %v, want a hint to build the store", err)
	}
}

func TestModuleName(t *testing.T) {
	for image, want := range map[string]string{
		"hello": "hello", "hello:1": "hello", "hello.wasm": "hello",
		"example.com/wasm/ticker:2": "ticker", "example.com/fail@sha256:abc": "fail",
	} {
		if got := ModuleName(image); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", image, got, want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
