package diagram

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		src     string
		want    []string // substrings of the SVG
		wantErr string
	}{
		{name: "dagre", src: "api -> etcd: stores", want: []string{"<svg", ">api<", ">etcd<", ">stores<"}},
		{name: "elk", src: "vars: {d2-config: {layout-engine: elk}}\na -> b", want: []string{"<svg", ">a<", ">b<"}},
		{name: "syntax error", src: "a -> {", wantErr: "broken.d2"},
		{name: "unknown layout engine", src: "vars: {d2-config: {layout-engine: tala}}\na -> b", wantErr: `"tala"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg, err := Render(ctx, "broken.d2", []byte(tt.src))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !bytes.Contains(svg, []byte(w)) {
					t.Errorf("SVG does not contain %q", w)
				}
			}
			again, err := Render(ctx, "broken.d2", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(svg, again) {
				t.Error("two renders of the same source differ; the staleness check needs them equal")
			}
		})
	}
}

// writeFiles creates root/Dir with the given files.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, filepath.FromSlash(Dir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheckAndGenerate(t *testing.T) {
	ctx := context.Background()
	fresh, err := Render(ctx, Dir+"/fresh.d2", []byte("a -> b"))
	if err != nil {
		t.Fatal(err)
	}
	root := writeFiles(t, map[string]string{
		"fresh.d2":   "a -> b",
		"fresh.svg":  string(fresh),
		"stale.d2":   "a -> c",
		"stale.svg":  string(fresh),
		"missing.d2": "x -> y",
		"broken.d2":  "a -> {",
	})
	problems, err := Check(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range problems {
		got[filepath.Base(p.Source)] = p.Msg
	}
	want := map[string]string{
		"stale.d2":   "stale.svg is stale",
		"missing.d2": "missing.svg is missing",
		"broken.d2":  "compiling slides/diagrams/broken.d2",
	}
	if len(got) != len(want) {
		t.Errorf("problems = %v, want one for each of %v", problems, want)
	}
	for src, w := range want {
		if !strings.Contains(got[src], w) {
			t.Errorf("problem for %s = %q, want it to mention %q", src, got[src], w)
		}
	}

	if err := os.Remove(filepath.Join(root, filepath.FromSlash(Dir), "broken.d2")); err != nil {
		t.Fatal(err)
	}
	written, err := Generate(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{Dir + "/missing.svg", Dir + "/stale.svg"}; strings.Join(written, ",") != strings.Join(want, ",") {
		t.Errorf("Generate wrote %v, want %v (fresh.svg unchanged)", written, want)
	}
	if problems, err := Check(ctx, root); err != nil || len(problems) > 0 {
		t.Errorf("after Generate: problems %v, err %v", problems, err)
	}
}
