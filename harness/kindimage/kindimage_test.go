package kindimage

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestAptMirror(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"deb822 sources", map[string]string{
			"sources.list.d/debian.sources": "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n",
		}, "http://mirror.example/debian"},
		{"security listed first is skipped", map[string]string{
			"sources.list.d/debian.sources": "URIs: http://deb.example/debian-security\nSuites: bookworm-security\n\nURIs: http://deb.example/debian\nSuites: bookworm\n",
		}, "http://deb.example/debian"},
		{"one-line sources.list", map[string]string{
			"sources.list": "# comment\ndeb http://security.example/debian-security bookworm-security main\ndeb http://old.example/debian bookworm main\n",
		}, "http://old.example/debian"},
		{"nothing configured", nil, "http://deb.debian.org/debian"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, content := range tt.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := AptMirror(dir); got != tt.want {
				t.Errorf("AptMirror = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMissingCaps(t *testing.T) {
	tests := []struct {
		name   string
		status string
		last   int
		want   []string
	}{
		{"nested container without CAP_SYS_RESOURCE", "Name:\tx\nCapBnd:\t000001fffeffffff\n", 40, []string{"CAP_SYS_RESOURCE"}},
		{"complete set", "CapBnd:\t000001ffffffffff\n", 40, nil},
		{"older kernel knows fewer", "CapBnd:\t0000003fffffffff\n", 37, nil},
		{"two missing", "CapBnd:\t000001fffefffffe\n", 40, []string{"CAP_CHOWN", "CAP_SYS_RESOURCE"}},
		{"no CapBnd line", "Name:\tx\n", 40, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := missingCaps(tt.status, tt.last); !slices.Equal(got, tt.want) {
				t.Errorf("missingCaps = %v, want %v", got, tt.want)
			}
		})
	}
}

// fakeRepo lays out the three tools modules Reference hashes.
func fakeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"tools", "tools/kindnode", "tools/localpath"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"go.mod", "go.sum"} {
			if err := os.WriteFile(filepath.Join(root, d, f), []byte(d+" "+f+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestReferenceFollowsEveryInput(t *testing.T) {
	root := fakeRepo(t)
	ref := func(opts ...Option) string {
		t.Helper()
		r, err := Reference(append([]Option{WithRepoDir(root), WithCacheDir(t.TempDir())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := ref(WithMirror("http://a.example/debian"))
	if !regexp.MustCompile(`^kubeworkshop/kind-node:v1\.37\.0-[0-9a-f]{12}$`).MatchString(first) {
		t.Fatalf("reference %q does not look like repository:version-hash", first)
	}
	if again := ref(WithMirror("http://a.example/debian")); again != first {
		t.Errorf("same inputs gave %q, then %q", first, again)
	}
	if other := ref(WithMirror("http://b.example/debian")); other == first {
		t.Errorf("a different mirror kept reference %q", first)
	}
	for _, f := range []string{"tools/kindnode/go.sum", "tools/localpath/go.mod"} {
		before := ref(WithMirror("http://a.example/debian"))
		if err := os.WriteFile(filepath.Join(root, f), []byte("changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if changed := ref(WithMirror("http://a.example/debian")); changed == before {
			t.Errorf("changing %s kept reference %q", f, before)
		}
	}
}

func TestLibraryClosureOfAHostBinary(t *testing.T) {
	// The build machine runs the same Debian release as the node: its own
	// root filesystem stands in for the node's.
	ls, err := filepath.EvalSymlinks("/usr/bin/ls")
	if err != nil {
		t.Skip("no /usr/bin/ls here")
	}
	libs, err := LibraryClosure("/", []string{ls})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, l := range libs {
		paths = append(paths, l.Path)
		if strings.HasPrefix(l.Path, "/") || !strings.HasPrefix(l.Path, "usr/") {
			t.Errorf("library path %q is not relative under usr/", l.Path)
		}
	}
	for _, want := range []string{"libc.so.6", "ld-linux-x86-64.so.2"} {
		if !slices.ContainsFunc(paths, func(p string) bool { return filepath.Base(p) == want }) {
			t.Errorf("closure of %s lacks %s: %v", ls, want, paths)
		}
	}
	if _, err := LibraryClosure(t.TempDir(), []string{ls}); err == nil || !strings.Contains(err.Error(), "libc.so.6") && !strings.Contains(err.Error(), "ld-linux") {
		t.Errorf("an empty root filesystem must fail naming the missing library, got %v", err)
	}
}

func TestWriteComponentImages(t *testing.T) {
	for _, f := range append([]string{"/usr/bin/ls"}, prefixed("/", iptablesFiles)...) {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("needs %s on the build machine", f)
		}
	}
	out := filepath.Join(t.TempDir(), "images.tar")
	err := writeComponentImages("/", t.TempDir(), out, func(string) string { return "/usr/bin/ls" })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ComponentImages {
		for _, r := range c.Refs {
			tag, err := name.NewTag(r)
			if err != nil {
				t.Fatal(err)
			}
			img, err := tarball.ImageFromPath(out, &tag)
			if err != nil {
				t.Fatalf("%s is not in the archive: %v", r, err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cf.Config.Entrypoint, c.Entrypoint) {
				t.Errorf("%s: entrypoint %v, want %v", r, cf.Config.Entrypoint, c.Entrypoint)
			}
			files := layerFiles(t, img)
			for _, want := range []string{"usr/local/bin/" + c.Binary, "usr/lib64/ld-linux-x86-64.so.2", "lib64"} {
				if !files[want] {
					t.Errorf("%s lacks %s", r, want)
				}
			}
			if c.Iptables && !files["usr/sbin/iptables"] {
				t.Errorf("%s lacks usr/sbin/iptables", r)
			}
		}
	}
}

func prefixed(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func layerFiles(t *testing.T, img v1.Image) map[string]bool {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = true
	}
}
