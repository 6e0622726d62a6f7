package kindimage

import (
	"archive/tar"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

// ComponentImage is one image kubeadm (or containerd) runs on a node,
// assembled from a binary of ours and the libraries it links from the
// node's Debian root filesystem.
type ComponentImage struct {
	// Refs are the names the image is preloaded under.
	Refs []string
	// Binary is the harness/binaries name, installed as /usr/local/bin/<Binary>
	// (kubeadm's manifests run the control plane from PATH, kube-proxy as
	// /usr/local/bin/kube-proxy).
	Binary string
	// Entrypoint, when set, is the image's entrypoint (CoreDNS and pause:
	// their manifests pass arguments only).
	Entrypoint []string
	// Iptables adds the iptables tools (nft and legacy) with their
	// extensions, which kube-proxy runs.
	Iptables bool
}

// ComponentImages are the images preloaded into every node, under the
// exact names kubeadm v1.37.0 and kind's containerd config ask for.
var ComponentImages = []ComponentImage{
	{Refs: []string{"registry.k8s.io/kube-apiserver:" + binaries.KubernetesVersion}, Binary: binaries.KubeAPIServer},
	{Refs: []string{"registry.k8s.io/kube-controller-manager:" + binaries.KubernetesVersion}, Binary: binaries.KubeControllerManager},
	{Refs: []string{"registry.k8s.io/kube-scheduler:" + binaries.KubernetesVersion}, Binary: binaries.KubeScheduler},
	{Refs: []string{"registry.k8s.io/kube-proxy:" + binaries.KubernetesVersion}, Binary: binaries.KubeProxy, Iptables: true},
	// kubeadm's etcd version map ends at 1.36 and falls back to this tag;
	// the binary is the pinned etcd of the tools module.
	{Refs: []string{"registry.k8s.io/etcd:3.7.0-0"}, Binary: binaries.Etcd},
	{Refs: []string{"registry.k8s.io/coredns/coredns:v1.14.6"}, Binary: binaries.CoreDNS, Entrypoint: []string{"/usr/local/bin/coredns"}},
	// kubeadm's pause (3.10.2) and kind's containerd sandbox_image (3.10):
	// Debian's static catatonit in pause mode.
	{Refs: []string{"registry.k8s.io/pause:3.10.2", "registry.k8s.io/pause:3.10"}, Binary: "catatonit", Entrypoint: []string{"/usr/local/bin/catatonit", "-P"}},
	// The default StorageClass (node/default-storage.yaml): the provisioner
	// and the helper its pods run.
	{Refs: []string{"kubeworkshop.example/local-path-provisioner:v0.0.30"}, Binary: binaries.LocalPathProvisioner},
	{Refs: []string{"kubeworkshop.example/local-path-helper:1"}, Binary: localPathHelper},
}

func componentImageNames() []string {
	var out []string
	for _, c := range ComponentImages {
		out = append(out, c.Refs...)
	}
	return out
}

// iptablesFiles are the rootfs paths of kube-proxy's iptables tools; the
// extension modules in xtablesDir are added too.
var iptablesFiles = []string{"usr/sbin/xtables-nft-multi", "usr/sbin/xtables-legacy-multi"}

const xtablesDir = "usr/lib/x86_64-linux-gnu/xtables"

// iptablesWrapper is the binPath name of ./iptables-wrapper, which picks
// the node's backend on first use.
const iptablesWrapper = "iptables-wrapper"

// localPathHelper is the binPath name of ./local-path-helper.
const localPathHelper = "local-path-helper"

var iptablesLinks = []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"}

// epoch is every file's and image's timestamp: the same inputs give the
// same digests.
var epoch = time.Unix(0, 0).UTC()

// writeComponentImages writes every ComponentImage into one docker-archive
// tarball at out (what `ctr images import` reads). binPath maps a binary's
// name to its file; rootfs is the node's root filesystem, whose libraries
// the binaries are linked against (the same Debian release as the build
// machine's).
func writeComponentImages(rootfs, tmp, out string, binPath func(string) string) error {
	// One base layer with every library any image needs: containerd stores
	// it once for all of them.
	var elfs []string
	for _, c := range ComponentImages {
		elfs = append(elfs, binPath(c.Binary))
		if c.Iptables {
			for _, f := range iptablesFiles {
				elfs = append(elfs, filepath.Join(rootfs, f))
			}
			mods, _ := filepath.Glob(filepath.Join(rootfs, xtablesDir, "*.so"))
			elfs = append(elfs, mods...)
		}
	}
	libs, err := LibraryClosure(rootfs, elfs)
	if err != nil {
		return err
	}
	base, err := writeLayer(filepath.Join(tmp, "base.tar"), func(tw *tar.Writer) error {
		added := map[string]bool{}
		for _, d := range []string{"usr", "usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "usr/local", "usr/local/bin", "etc", "var"} {
			if err := addDir(tw, d, 0o755); err != nil {
				return err
			}
			added[d] = true
		}
		if err := addDir(tw, "tmp", 0o1777); err != nil {
			return err
		}
		for link, target := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"} {
			if err := addSymlink(tw, link, target); err != nil {
				return err
			}
		}
		if err := addBytes(tw, "etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"), 0o644); err != nil {
			return err
		}
		if err := addBytes(tw, "etc/group", []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644); err != nil {
			return err
		}
		if err := addBytes(tw, "etc/nsswitch.conf", []byte("hosts: files dns\n"), 0o644); err != nil {
			return err
		}
		dirs := map[string]bool{}
		for _, l := range libs {
			for d := path.Dir(l.Path); d != "." && !added[d] && !dirs[d]; d = path.Dir(d) {
				dirs[d] = true
			}
		}
		for _, d := range sortedKeys(dirs) {
			if err := addDir(tw, d, 0o755); err != nil {
				return err
			}
		}
		for _, l := range libs {
			if err := addFile(tw, l.Path, l.Source, 0o755); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	refs := map[name.Reference]v1.Image{}
	for _, c := range ComponentImages {
		layer, err := writeLayer(filepath.Join(tmp, c.Binary+".tar"), func(tw *tar.Writer) error {
			if err := addFile(tw, "usr/local/bin/"+c.Binary, binPath(c.Binary), 0o755); err != nil {
				return err
			}
			if !c.Iptables {
				return nil
			}
			for _, f := range iptablesFiles {
				if err := addFile(tw, f, filepath.Join(rootfs, f), 0o755); err != nil {
					return err
				}
			}
			if err := addFile(tw, "usr/sbin/iptables-wrapper", binPath(iptablesWrapper), 0o755); err != nil {
				return err
			}
			for _, l := range iptablesLinks {
				if err := addSymlink(tw, "usr/sbin/"+l, "iptables-wrapper"); err != nil {
					return err
				}
			}
			if err := addDir(tw, xtablesDir, 0o755); err != nil {
				return err
			}
			mods, _ := filepath.Glob(filepath.Join(rootfs, xtablesDir, "*.so"))
			for _, m := range mods {
				if err := addFile(tw, path.Join(xtablesDir, filepath.Base(m)), m, 0o644); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		img, err := mutate.AppendLayers(empty.Image, base, layer)
		if err != nil {
			return err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Created = "linux", runtime.GOARCH, v1.Time{Time: epoch}
		cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		cf.Config.Entrypoint = c.Entrypoint
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return err
		}
		for _, r := range c.Refs {
			tag, err := name.NewTag(r)
			if err != nil {
				return err
			}
			refs[tag] = img
		}
	}
	if err := tarball.MultiRefWriteToFile(out, refs); err != nil {
		return fmt.Errorf("write component images: %w", err)
	}
	return nil
}

// Library is a shared object a binary needs: Path inside the image (under
// usr/, the merged-/usr layout), Source the file it is read from.
type Library struct {
	Path, Source string
}

// libDirs are where the dynamic loader finds libraries on Debian amd64.
var libDirs = []string{"usr/lib/x86_64-linux-gnu", "usr/lib64", "usr/lib"}

// LibraryClosure returns every shared library (and the dynamic loader)
// the ELF files need, directly or through each other, found in rootfs. A
// statically linked file needs none.
func LibraryClosure(rootfs string, files []string) ([]Library, error) {
	seen := map[string]Library{}
	var walk func(file string) error
	walk = func(file string) error {
		f, err := elf.Open(file)
		if err != nil {
			return fmt.Errorf("read ELF %s: %w", file, err)
		}
		defer f.Close()
		var wanted []string
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return fmt.Errorf("read interpreter of %s: %w", file, err)
			}
			wanted = append(wanted, strings.TrimRight(string(b), "\x00"))
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("read libraries of %s: %w", file, err)
		}
		wanted = append(wanted, needed...)
		for _, w := range wanted {
			lib, err := findLibrary(rootfs, w)
			if err != nil {
				return fmt.Errorf("%s needs %s: %w", file, w, err)
			}
			if _, ok := seen[lib.Path]; ok {
				continue
			}
			seen[lib.Path] = lib
			if err := walk(lib.Source); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range files {
		if err := walk(f); err != nil {
			return nil, err
		}
	}
	out := make([]Library, 0, len(seen))
	for _, k := range sortedKeys(seen) {
		out = append(out, seen[k])
	}
	return out, nil
}

func findLibrary(rootfs, want string) (Library, error) {
	var candidates []string
	if path.IsAbs(want) {
		p := strings.TrimPrefix(path.Clean(want), "/")
		if !strings.HasPrefix(p, "usr/") {
			p = "usr/" + p // merged /usr: /lib64 is usr/lib64
		}
		candidates = []string{p}
	} else {
		for _, d := range libDirs {
			candidates = append(candidates, path.Join(d, want))
		}
	}
	for _, c := range candidates {
		src := filepath.Join(rootfs, filepath.FromSlash(c))
		if fi, err := os.Stat(src); err == nil && fi.Mode().IsRegular() {
			return Library{Path: c, Source: src}, nil
		}
	}
	return Library{}, fmt.Errorf("not found in %s (looked for %s)", rootfs, strings.Join(candidates, ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func writeLayer(file string, fill func(*tar.Writer) error) (v1.Layer, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(f)
	err = fill(tw)
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write layer %s: %w", filepath.Base(file), err)
	}
	// Fast compression: the images are built on every machine that runs
	// kind, never pushed, and gzip at its default level dominates the build.
	return tarball.LayerFromFile(file, tarball.WithCompressionLevel(gzip.BestSpeed))
}

func addDir(tw *tar.Writer, name string, mode int64) error {
	return tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: mode, ModTime: epoch, Format: tar.FormatPAX})
}

func addSymlink(tw *tar.Writer, name, target string) error {
	return tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX})
}

func addBytes(tw *tar.Writer, name string, b []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func addFile(tw *tar.Writer, name, src string, mode int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: fi.Size(), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
