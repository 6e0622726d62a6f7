package workload

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image is the workload image's own name.
const Image = "kubeworkshop.example/workload:1"

// Names are the references the image is loaded under. Suites, demos,
// samples and slide scripts all name it Image; on kwok any name works,
// since kwok never pulls.
var Names = []string{Image}

// Package is the workload's main package, relative to the repository root.
const Package = "./harness/workload/cmd/workload"

// sources are hashed into the cache key, relative to the repository root.
var sources = []string{"go.mod", "go.sum", "harness/workload", "harness/workload/cmd/workload"}

// Archive returns a docker-archive tarball of the workload image (every
// name in Names), building it when the cache under cacheDir has none for
// the current source. The file is renamed into place when complete.
func Archive(ctx context.Context, repoDir, cacheDir string) (string, error) {
	key, err := sourceKey(repoDir)
	if err != nil {
		return "", err
	}
	out := filepath.Join(cacheDir, "workload", key+".tar")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "workload")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, Package)
	cmd.Dir = repoDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the workload: %w\n%s", err, b)
	}
	img, err := imageOf(bin)
	if err != nil {
		return "", err
	}
	refs := map[name.Reference]v1.Image{}
	for _, n := range Names {
		tag, err := name.NewTag(n)
		if err != nil {
			return "", err
		}
		refs[tag] = img
	}
	part := filepath.Join(tmp, "image.tar")
	if err := tarball.MultiRefWriteToFile(part, refs); err != nil {
		return "", fmt.Errorf("write the workload image: %w", err)
	}
	if err := os.Rename(part, out); err != nil {
		return "", err
	}
	return out, nil
}

func imageOf(bin string) (v1.Image, error) {
	content, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	epoch := time.Unix(0, 0).UTC()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "workload", Mode: 0o755, Size: int64(len(content)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", runtime.GOARCH, v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{"/workload"}
	// In a pod the kubelet's probes and other pods come from outside the
	// container: the image opts in to every interface.
	cf.Config.Env = []string{"LISTEN=:8080"}
	cf.Config.User = "65532:65532"
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	return mutate.ConfigFile(img, cf)
}

func sourceKey(repoDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "go %s\n", runtime.Version())
	for _, s := range sources {
		p := filepath.Join(repoDir, s)
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("workload source: %w", err)
		}
		files := []string{p}
		if fi.IsDir() {
			files, _ = filepath.Glob(filepath.Join(p, "*.go"))
			sort.Strings(files)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s %d\n", f[len(repoDir):], len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
