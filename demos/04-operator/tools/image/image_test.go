package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestWrite writes an image around a stand-in binary and reads the tarball
// back both as a Docker archive and as an OCI layout.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "podset-operator")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "image.tar")
	digest, err := Write(bin, "", "arm64", out)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}

	want, err := imageFor(bin, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	wantConfig, err := want.ConfigName()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("docker archive", func(t *testing.T) {
		tag, err := name.NewTag(DefaultTag)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(out, &tag)
		if err != nil {
			t.Fatalf("read as docker archive: %v", err)
		}
		// docker load re-creates the manifest (so its digest differs), but
		// the config blob is shared with the OCI manifest.
		got, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if got != wantConfig {
			t.Errorf("config digest = %s, want %s", got, wantConfig)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != "linux" || cf.Architecture != "arm64" {
			t.Errorf("platform = %s/%s, want linux/arm64", cf.OS, cf.Architecture)
		}
		if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != Entrypoint || cf.Config.User != nonRoot {
			t.Errorf("entrypoint %v user %q", cf.Config.Entrypoint, cf.Config.User)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("layers = %d, %v; want 1", len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		tr := tar.NewReader(rc)
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name != "podset-operator" || hdr.Mode&0o111 == 0 {
			t.Errorf("layer file %q mode %o, want executable podset-operator", hdr.Name, hdr.Mode)
		}
		if _, err := tr.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("layer has more than one file (%v)", err)
		}
	})

	t.Run("OCI layout", func(t *testing.T) {
		ociDir := filepath.Join(dir, "oci")
		if err := untar(out, ociDir); err != nil {
			t.Fatal(err)
		}
		lp, err := layout.FromPath(ociDir)
		if err != nil {
			t.Fatalf("read OCI layout: %v", err)
		}
		idx, err := lp.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) != 1 || m.Manifests[0].Digest != digest {
			t.Fatalf("index = %+v, want one manifest %s", m.Manifests, digest)
		}
		if got := m.Manifests[0].Annotations["io.containerd.image.name"]; got != DefaultTag {
			t.Errorf("io.containerd.image.name = %q, want %q", got, DefaultTag)
		}
	})

	t.Run("reproducible", func(t *testing.T) {
		again, err := Write(bin, "", "arm64", filepath.Join(dir, "again.tar"))
		if err != nil {
			t.Fatal(err)
		}
		if again != digest {
			t.Errorf("second build digest %s differs from %s", again, digest)
		}
	})
}

func untar(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
}
