package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"runtime", errors.New("boom"), ExitRuntime},
		{"usage", Usagef("bad flag"), ExitUsage},
		{"wrapped usage", fmt.Errorf("parsing: %w", Usagef("bad flag")), ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Fatalf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestValidateOutput(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", OutputTable, false},
		{"json", OutputJSON, false},
		{"wide", OutputTable, false},
		{"xml", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ValidateOutput(tt.in, OutputTable, OutputJSON, OutputName)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr && !IsUsage(err) {
				t.Fatalf("want a usage error, got %T", err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"zero", time.Time{}, "<unknown>"},
		{"seconds", now.Add(-42 * time.Second), "42s"},
		{"minutes", now.Add(-5 * time.Minute), "5m"},
		{"days", now.Add(-72 * time.Hour), "3d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Age(now, tt.t); got != tt.want {
				t.Fatalf("Age = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	var b strings.Builder
	tab := NewTable(&b)
	tab.Row("NAME", "STATUS")
	tab.Row("a-long-name", "")
	if err := tab.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "NAME          STATUS\na-long-name   <none>\n"
	if b.String() != want {
		t.Fatalf("table =\n%q\nwant\n%q", b.String(), want)
	}

	// Rows flushed one at a time keep the widths seen before, and MinWidths widens.
	b.Reset()
	tab.Row("b", "ok")
	if err := tab.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "b             ok\n"; b.String() != want {
		t.Fatalf("row after flush = %q, want %q", b.String(), want)
	}
	b.Reset()
	wide := NewTable(&b)
	wide.MinWidths(tab.Widths()[0] + 2)
	wide.Row("c", "x")
	if err := wide.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "c               x\n"; b.String() != want {
		t.Fatalf("row with MinWidths = %q, want %q", b.String(), want)
	}
}

const kubeconfigTmpl = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
contexts:
- name: with-ns
  context: {cluster: c, user: u, namespace: team-a}
- name: without-ns
  context: {cluster: c, user: u}
current-context: with-ns
users:
- name: u
  user: {token: abc}
`

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, fmt.Appendf(nil, kubeconfigTmpl, server), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	path := writeKubeconfig(t, "https://127.0.0.1:6443")
	tests := []struct {
		name    string
		flags   KubeFlags
		wantNS  string
		listNS  string
		wantErr bool
	}{
		{"context namespace", KubeFlags{Kubeconfig: path}, "team-a", "team-a", false},
		{"explicit namespace wins", KubeFlags{Kubeconfig: path, Namespace: "other"}, "other", "other", false},
		{"context without namespace", KubeFlags{Kubeconfig: path, Context: "without-ns"}, "default", "default", false},
		{"all namespaces", KubeFlags{Kubeconfig: path, AllNamespaces: true}, "team-a", "", false},
		{"-n with -A", KubeFlags{Kubeconfig: path, Namespace: "x", AllNamespaces: true}, "", "", true},
		{"unknown context", KubeFlags{Kubeconfig: path, Context: "nope"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.flags.Load()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load() err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if k.Namespace != tt.wantNS || k.ListNamespace() != tt.listNS {
				t.Fatalf("namespace = %q/%q, want %q/%q", k.Namespace, k.ListNamespace(), tt.wantNS, tt.listNS)
			}
			if k.Config.Timeout != RequestTimeout || k.WatchConfig().Timeout != 0 {
				t.Fatalf("timeouts = %v/%v", k.Config.Timeout, k.WatchConfig().Timeout)
			}
		})
	}
}

func TestLoadHonoursKUBECONFIG(t *testing.T) {
	t.Setenv("KUBECONFIG", writeKubeconfig(t, "https://example.invalid:1234"))
	k, err := (&KubeFlags{}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if k.Config.Host != "https://example.invalid:1234" {
		t.Fatalf("host = %q", k.Config.Host)
	}
}

func TestCheckReachable(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.0"}`))
	}))
	defer ok.Close()

	// A listener that is closed at once gives an address nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := "http://" + l.Addr().String()
	_ = l.Close()

	t.Run("reachable", func(t *testing.T) {
		if err := CheckReachable(context.Background(), &rest.Config{Host: ok.URL}); err != nil {
			t.Fatalf("CheckReachable: %v", err)
		}
	})
	t.Run("unreachable names the server and the fix", func(t *testing.T) {
		start := time.Now()
		err := CheckReachable(context.Background(), &rest.Config{Host: deadAddr})
		if err == nil {
			t.Fatal("want an error")
		}
		for _, want := range []string{deadAddr, "go tool mage cluster:up"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		// The promise is that a dead cluster never hangs a demo: CheckReachable gives up
		// after ConnectTimeout. The margin is generous for a loaded machine.
		if d := time.Since(start); d > 2*ConnectTimeout+10*time.Second {
			t.Errorf("took %v; a dead cluster must fail within about %v", d, ConnectTimeout)
		}
	})
	t.Run("Ctrl-C is reported as an interruption, not as a dead cluster", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := CheckReachable(ctx, &rest.Config{Host: ok.URL})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") || strings.Contains(err.Error(), "cluster:up") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		args     []string
		wantCmd  string
		wantRest []string
	}{
		{[]string{"get", "pods"}, "get", []string{"pods"}},
		{[]string{"--kubeconfig", "/k", "get", "pods"}, "get", []string{"--kubeconfig", "/k", "pods"}},
		{[]string{"-n", "get", "get", "pods"}, "get", []string{"-n", "get", "pods"}},
		{[]string{"--kubeconfig=/k", "-A", "get"}, "get", []string{"--kubeconfig=/k", "-A"}},
		{[]string{"pods", "get"}, "", []string{"pods", "get"}},
		{[]string{"--help"}, "", []string{"--help"}},
		{nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd, rest := SplitCommand(tt.args, "get", "apply")
			if cmd != tt.wantCmd || strings.Join(rest, " ") != strings.Join(tt.wantRest, " ") {
				t.Fatalf("SplitCommand = %q %q, want %q %q", cmd, rest, tt.wantCmd, tt.wantRest)
			}
		})
	}
}
