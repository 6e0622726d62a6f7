package workload

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name   string
		paths  []string // requested in order; the last one is checked
		status int
		body   string
	}{
		{"healthz", []string{"/healthz"}, 200, "ok"},
		{"ready by default", []string{"/readyz"}, 200, "ready"},
		{"not ready on demand", []string{"/readyz?set=false", "/readyz"}, 503, "not ready"},
		{"ready again", []string{"/readyz?set=false", "/readyz?set=true"}, 200, "ready"},
		{"bad readiness value", []string{"/readyz?set=maybe"}, 400, "true or false"},
		{"exit code out of range", []string{"/exit?code=300"}, 400, "0-255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := NewServer(slog.New(slog.NewTextHandler(&logs, nil))).Handler()
			var rec *httptest.ResponseRecorder
			for _, p := range tt.paths {
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			}
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.paths[len(tt.paths)-1], rec.Code, rec.Body.String(), tt.status, tt.body)
			}
			if n := strings.Count(logs.String(), "msg=request"); n != len(tt.paths) {
				t.Errorf("%d request log lines for %d requests:\n%s", n, len(tt.paths), logs.String())
			}
		})
	}
}

func TestRunExitsWithTheRequestedCode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan int, 1)
	go func() {
		code, err := s.Run(context.Background(), l)
		if err != nil {
			t.Error(err)
		}
		done <- code
	}()
	resp, err := http.Get("http://" + l.Addr().String() + "/exit?code=7")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := <-done; code != 7 {
		t.Errorf("Run returned %d, want 7", code)
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	code, err := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx, l)
	if err != nil || code != 0 {
		t.Errorf("Run = %d, %v; want 0, nil", code, err)
	}
}

func TestArchive(t *testing.T) {
	root, err := repo.Root("")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	archive, err := Archive(t.Context(), root, cache)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range Names {
		tag, err := name.NewTag(n)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(archive, &tag)
		if err != nil {
			t.Fatalf("%s is not in %s: %v", n, archive, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/workload" || !slices.Contains(cf.Config.Env, "LISTEN=:8080") {
			t.Errorf("%s: entrypoint %v, env %v", n, cf.Config.Entrypoint, cf.Config.Env)
		}
	}
	again, err := Archive(t.Context(), root, cache)
	if err != nil || again != archive {
		t.Errorf("second call = %q, %v; want the cached %q", again, err, archive)
	}
}
