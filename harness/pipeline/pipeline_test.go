package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHasBuildTag(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, src string
		want      bool
	}{
		{"plain e2e", "//go:build e2e\n\npackage x\n", true},
		{"after a license comment", "// Copyright\n\n//go:build e2e\n\npackage x\n", true},
		{"combined expression", "//go:build linux && (e2e || slow)\n\npackage x\n", true},
		{"no constraint", "package x\n", false},
		{"other tag", "//go:build mage\n\npackage x\n", false},
		{"tag with e2e in its name", "//go:build e2etools\n\npackage x\n", false},
		{"constraint after package clause is ignored", "package x\n\n//go:build e2e\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+"_test.go")
			write(t, p, tt.src)
			if got := hasBuildTag(p, "e2e"); got != tt.want {
				t.Errorf("hasBuildTag = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSuitesFindsOnlyE2EPackages(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.com/m\n\ngo 1.26.0\n")
	write(t, filepath.Join(root, "a", "a.go"), "package a\n")
	write(t, filepath.Join(root, "a", "a_test.go"), "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n")
	write(t, filepath.Join(root, "demos", "01-x", "e2e", "doc.go"), "package e2e\n")
	write(t, filepath.Join(root, "demos", "01-x", "e2e", "x_test.go"), "//go:build e2e\n\npackage e2e\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {}\n")
	write(t, filepath.Join(root, "smoke", "s_test.go"), "//go:build e2e\n\npackage smoke_test\n\nimport \"testing\"\n\nfunc TestS(t *testing.T) {}\n")

	r := &Runner{Root: root}
	suites, err := r.Suites(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range suites {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "demos/01-x/e2e,smoke" {
		t.Fatalf("suites = %s", got)
	}

	for _, tt := range []struct {
		want, got string
	}{
		{"", "demos/01-x/e2e,smoke"},
		{"smoke", "smoke"},
		{"01-x", "demos/01-x/e2e"},
		{"demos/01-x/e2e/", "demos/01-x/e2e"},
		{"smoke, 01-x", "demos/01-x/e2e,smoke"},
		{"smoke,nope", "smoke"},
	} {
		sel, err := SelectSuites(suites, tt.want)
		if err != nil {
			t.Fatalf("SUITE=%q: %v", tt.want, err)
		}
		var got []string
		for _, s := range sel {
			got = append(got, s.Name)
		}
		if strings.Join(got, ",") != tt.got {
			t.Errorf("SUITE=%q selected %v, want %s", tt.want, got, tt.got)
		}
	}
	_, err = SelectSuites(suites, "nope")
	if !errors.Is(err, ErrNoSuite) || !strings.Contains(err.Error(), "demos/01-x/e2e, smoke") {
		t.Fatalf("unknown SUITE: want ErrNoSuite listing the suites, got %v", err)
	}
	if _, err := SelectSuites(suites, "x"); !errors.Is(err, ErrNoSuite) {
		t.Errorf("a partial path element must not match, got %v", err)
	}
}

func TestParseTestJSON(t *testing.T) {
	events := `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestX"}
{"Action":"fail","Package":"a","Test":"TestX"}
{"Action":"fail","Package":"a"}
# build output, not an event
{"Action":"pass","Package":"b","Test":"TestY"}
{"Action":"pass","Package":"b"}
{"Action":"output","Package":"c","Output":"no result"}
`
	got, err := ParseTestJSON(strings.NewReader(events))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"] != false || got["b"] != true {
		t.Errorf("outcomes = %v, want a failed, b passed, nothing for c", got)
	}
}

func TestPrintSoak(t *testing.T) {
	var b strings.Builder
	if err := PrintSoak(&b, []SoakResult{{Suite: "smoke", Passed: 20}, {Suite: "demos/04-operator/e2e", Passed: 18, Failed: 2, Failures: []int{3, 17}}}, 20); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SUITE", "smoke  ", "20/20", "18/20", "3 17"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestPrintChecks(t *testing.T) {
	var b strings.Builder
	failed := PrintChecks(&b, []Check{
		{Name: "go", Detail: "go1.26.8"},
		{Name: "kind", Severity: Warn, Detail: "no engine", Fix: "use kwok"},
	})
	if failed || !strings.Contains(b.String(), "→ use kwok") {
		t.Fatalf("failed=%v output:\n%s", failed, b.String())
	}
	if !PrintChecks(&b, []Check{{Name: "binaries", Severity: Fail, Detail: "missing"}}) {
		t.Fatal("a Fail check must report failure")
	}
}

func TestLintIgnoresMagesGeneratedMainfile(t *testing.T) {
	got := withoutGenerated("magefiles/mage_output_file.go\nharness/x.go\n")
	if got != "harness/x.go" {
		t.Errorf("withoutGenerated = %q, want only harness/x.go", got)
	}
	if withoutGenerated("magefiles/mage_output_file.go\n") != "" {
		t.Error("the generated main file alone must leave nothing to report")
	}
}

func TestTestBinariesBuildsOnlyWhatTheProviderRuns(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		provider string
		want     []string
	}{
		{cluster.Kwok, []string{binaries.KubeAPIServer, binaries.Etcd, binaries.Kubectl, binaries.Kwokctl, binaries.Kwok, binaries.KubeControllerManager, binaries.KubeScheduler}},
		{cluster.Kind, []string{binaries.KubeAPIServer, binaries.Etcd, binaries.Kubectl}},
		{cluster.Existing, []string{binaries.KubeAPIServer, binaries.Etcd, binaries.Kubectl}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			p, err := cluster.New(cluster.WithProvider(tc.provider), cluster.WithRepoDir(root), cluster.WithCacheDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			if got := TestBinaries(p); !slices.Equal(got, tc.want) {
				t.Errorf("TestBinaries = %v, want %v", got, tc.want)
			}
		})
	}
}
