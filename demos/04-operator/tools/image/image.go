package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultTag is the image reference config/manager/manager.yaml expects.
const DefaultTag = "kubeworkshop.example.com/podset-operator:dev"

// Entrypoint is the operator binary's path inside the image.
const Entrypoint = "/podset-operator"

// nonRoot is the "nonroot" user of distroless images; the Deployment runs
// as it too.
const nonRoot = "65532:65532"

// epoch is the timestamp of the layer's files and the image, so that the
// same binary always yields the same image digest.
var epoch = time.Unix(0, 0).UTC()

// Options configures Build.
type Options struct {
	// Package is the Go package of the operator's main (run from Dir).
	Package string
	// Dir is the directory `go build` runs in (the repository root).
	Dir string
	// Tag names the image (default DefaultTag).
	Tag string
	// Arch is the target GOARCH (default: this machine's).
	Arch string
	// Out is the tarball to write.
	Out string
	// Progress, when set, receives a line about the build every few
	// seconds: compiling a cold cache takes minutes.
	Progress io.Writer
}

// Build cross-compiles the operator for linux and writes its image tarball
// to o.Out. It returns the image's digest.
func Build(ctx context.Context, o Options) (v1.Hash, error) {
	if o.Arch == "" {
		o.Arch = runtime.GOARCH
	}
	tmp, err := os.MkdirTemp("", "podset-image-")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "podset-operator")
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.Arch)
	if err := compile(ctx, o, env, bin); err != nil {
		return v1.Hash{}, err
	}
	progress(o.Progress, "writing the image %s for linux/%s to %s\n", o.Tag, o.Arch, o.Out)
	return Write(bin, o.Tag, o.Arch, o.Out)
}

// progressEvery is how often compile reports how far it got.
const progressEvery = 5 * time.Second

// compile runs `go build -v`, which names every package it compiles on
// stderr, and reports every progressEvery how many of the operator's
// packages (from `go list -deps`) have been compiled; packages already in
// the build cache are not compiled again, so a warm build ends early.
func compile(ctx context.Context, o Options, env []string, bin string) error {
	list := exec.CommandContext(ctx, "go", "list", "-deps", o.Package)
	list.Dir, list.Env = o.Dir, env
	deps, err := list.Output()
	if err != nil {
		return fmt.Errorf("go list -deps %s: %w", o.Package, err)
	}
	total := strings.Count(string(deps), "\n")
	progress(o.Progress, "compiling %s for linux/%s (%d packages; a cold build cache takes minutes)\n", o.Package, o.Arch, total)

	cmd := exec.CommandContext(ctx, "go", "build", "-v", "-trimpath", "-ldflags", "-s -w", "-o", bin, o.Package)
	cmd.Dir, cmd.Env = o.Dir, env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("go build %s: %w", o.Package, err)
	}
	var (
		mu       sync.Mutex
		compiled int
		output   strings.Builder
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			compiled++
			output.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			mu.Lock()
			n := compiled
			mu.Unlock()
			progress(o.Progress, "  %s: compiled %d of at most %d packages\n", time.Since(start).Round(time.Second), n, total)
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", o.Package, o.Arch, err, output.String())
	}
	progress(o.Progress, "  compiled in %s\n", time.Since(start).Round(time.Second))
	return nil
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// Write packages an already built linux binary as the image's entrypoint and
// writes the tarball to out. It returns the image's digest.
func Write(binary, tag, arch, out string) (v1.Hash, error) {
	if tag == "" {
		tag = DefaultTag
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("parse image tag %q: %w", tag, err)
	}
	img, err := imageFor(binary, arch)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("compute image digest: %w", err)
	}

	dir, err := os.MkdirTemp("", "podset-layout-")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("create OCI layout: %w", err)
	}
	err = lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		// containerd (and so kind) names imported images after this one,
		"io.containerd.image.name": ref.Name(),
		// the OCI spec's own annotation holds just the tag.
		"org.opencontainers.image.ref.name": ref.TagStr(),
	}))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("write image into OCI layout: %w", err)
	}

	// manifest.json makes the same tarball loadable by `docker load`.
	cfgName, err := img.ConfigName()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image config digest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image layers: %w", err)
	}
	dockerManifest := []map[string]any{{
		"Config":   blobPath(cfgName),
		"RepoTags": []string{ref.Name()},
		"Layers":   []string{},
	}}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return v1.Hash{}, fmt.Errorf("layer digest: %w", err)
		}
		dockerManifest[0]["Layers"] = append(dockerManifest[0]["Layers"].([]string), blobPath(d))
	}
	mj, err := json.Marshal(dockerManifest)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("encode manifest.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), mj, 0o644); err != nil {
		return v1.Hash{}, fmt.Errorf("write manifest.json: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return v1.Hash{}, fmt.Errorf("create %s: %w", filepath.Dir(out), err)
	}
	if err := tarDir(dir, out); err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}

// imageFor builds the single-layer image: the binary at Entrypoint on an
// empty base, running as a non-root user.
func imageFor(binary, arch string) (v1.Image, error) {
	content, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read operator binary: %w", err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	hdr := &tar.Header{
		Name:     Entrypoint[1:],
		Mode:     0o755,
		Size:     int64(len(content)),
		ModTime:  epoch,
		Typeflag: tar.TypeReg,
		Uid:      0,
		Gid:      0,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if _, err := tw.Write(content); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	raw := layerTar.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}

	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "kubeworkshop operator:image", Created: v1.Time{Time: epoch}},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{Entrypoint}
	cf.Config.User = nonRoot
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "podset-operator",
		"org.opencontainers.image.description": "The PodSet operator of the kubeworkshop (demos/04-operator)",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	return img, nil
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// tarDir writes the files under dir into the tar file out, with stable
// ordering and timestamps.
func tarDir(dir, out string) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", out, cerr)
		}
	}()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = epoch, 0, 0, "", ""
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
