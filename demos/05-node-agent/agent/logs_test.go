package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestLogsRead(t *testing.T) {
	logs := NewLogs(t.TempDir())
	ref := LogRef{Namespace: "ns", Pod: "p", UID: "u", Container: "app"}
	for run, text := range []string{"first 1\nfirst 2\n", "second 1\nsecond 2\nsecond 3\n"} {
		f, err := logs.Create(ref, int32(run))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(f, text)
		_ = f.Close()
	}
	tests := []struct {
		name string
		o    LogOptions
		want string
	}{
		{"current run", LogOptions{TailLines: -1}, "second 1\nsecond 2\nsecond 3\n"},
		{"previous run", LogOptions{Previous: true, TailLines: -1}, "first 1\nfirst 2\n"},
		{"tail 2", LogOptions{TailLines: 2}, "second 2\nsecond 3\n"},
		{"tail more than there is", LogOptions{TailLines: 10}, "second 1\nsecond 2\nsecond 3\n"},
		{"tail 0", LogOptions{TailLines: 0}, ""},
		{"limit bytes", LogOptions{TailLines: -1, LimitBytes: 5}, "secon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := logs.Read(t.Context(), ref, tt.o, &out, func() {}); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
	var out bytes.Buffer
	err := logs.Read(t.Context(), LogRef{Namespace: "ns", Pod: "other", UID: "x", Container: "app"}, LogOptions{TailLines: -1}, &out, func() {})
	if !errors.Is(err, ErrNoLogs) {
		t.Errorf("a container without logs: %v, want ErrNoLogs", err)
	}
}

func TestLogsFollowEndsWithTheRun(t *testing.T) {
	logs := NewLogs(t.TempDir())
	ref := LogRef{Namespace: "ns", Pod: "p", UID: "u", Container: "app"}
	f, err := logs.Create(ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(f, "one\n")
	done := make(chan string)
	go func() {
		var out syncBuffer
		_ = logs.Read(context.Background(), ref, LogOptions{Follow: true, TailLines: -1}, &out, func() {})
		done <- out.String()
	}()
	_, _ = io.WriteString(f, "two\n")
	_ = f.Close()
	select {
	case got := <-done:
		if got != "one\ntwo\n" {
			t.Errorf("followed %q", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("following did not end when the run ended")
	}
}

func TestServerContainerLogsAndExec(t *testing.T) {
	logs := NewLogs(t.TempDir())
	f, err := logs.Create(LogRef{Namespace: "ns", Pod: "p", UID: "u", Container: "app"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(f, "hello\n")
	_ = f.Close()
	lookup := func(ns, name string) (string, bool) { return "u", ns == "ns" && name == "p" }
	srv := httptest.NewServer(NewServer(logs, lookup, func() Summary { return Summary{} }, prometheus.NewRegistry()))
	defer srv.Close()
	for _, tt := range []struct {
		path     string
		code     int
		contains string
	}{
		{"/containerLogs/ns/p/app", http.StatusOK, "hello\n"},
		{"/containerLogs/ns/p/app?previous=true", http.StatusBadRequest, "previous terminated container"},
		{"/containerLogs/ns/gone/app", http.StatusNotFound, "not on this node"},
		{"/exec/ns/p/app?command=sh", http.StatusNotImplemented, "not supported by this node"},
		{"/healthz", http.StatusOK, "ok"},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %s: %d %q, want %d containing %q", tt.path, resp.StatusCode, body, tt.code, tt.contains)
		}
	}
}
