package kindimage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

// build is one run of the node image build.
type build struct {
	o     options
	ref   string
	start time.Time
	step  int
	dir   string // scratch directory, removed at the end
	// bin is the path of a built binary by its harness/binaries name,
	// set once the binaries are there.
	bin func(name string) string
}

const steps = 6

func (b *build) logf(format string, args ...any) {
	fmt.Fprintf(b.o.log, format+"\n", args...)
}

// do runs one numbered step and reports its duration.
func (b *build) do(what string, f func() error) error {
	b.step++
	b.logf("[%d/%d] %s ...", b.step, steps, what)
	t := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b.logf("      done in %s", time.Since(t).Round(100*time.Millisecond))
	return nil
}

func (b *build) run(ctx context.Context, work string) (err error) {
	dir, err := os.MkdirTemp(work, "build-")
	if err != nil {
		return err
	}
	b.dir = dir
	rootfs := filepath.Join(dir, "rootfs")
	tmpRef := fmt.Sprintf("kubeworkshop/kind-node-build:%d", os.Getpid())
	container := fmt.Sprintf("kubeworkshop-kind-node-build-%d", os.Getpid())
	defer func() {
		// Runs after success, failure and Ctrl-C alike: nothing of a
		// build is kept but the committed image.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = exec.CommandContext(cctx, b.o.docker, "rm", "-f", "-v", container).Run()
		_ = exec.CommandContext(cctx, b.o.docker, "rmi", tmpRef).Run()
		if !unmountUnder(rootfs) {
			// Never remove files through a mount that is still there.
			err = errors.Join(err, fmt.Errorf("%s is still mounted; unmount it and remove %s", rootfs, dir))
			return
		}
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove build directory: %w", rerr)
		}
	}()
	b.logf("building kind node image %s (Kubernetes %s, Debian %s from %s)", b.ref, binaries.KubernetesVersion, Suite, b.o.mirror)

	if err := b.do("Debian root filesystem (debootstrap "+Suite+") while the binaries build", func() error {
		// Downloading packages and compiling overlap: run them together.
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		binErr := make(chan error, 1)
		go func() {
			err := b.binaries(bctx)
			if err != nil {
				cancel()
			}
			binErr <- err
		}()
		err := b.debootstrap(bctx, rootfs)
		if err != nil {
			cancel()
		}
		return errors.Join(err, <-binErr)
	}); err != nil {
		return err
	}
	if err := b.do("kind base files, node binaries, CNI setup", func() error { return b.addNodeFiles(ctx, rootfs) }); err != nil {
		return err
	}
	images := filepath.Join(dir, "images.tar")
	if err := b.do("component images (go-containerregistry)", func() error {
		tmp := filepath.Join(dir, "layers")
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return err
		}
		for _, helper := range []string{iptablesWrapper, localPathHelper} {
			if err := buildHelper(ctx, b.o.repoDir, helper, filepath.Join(dir, helper)); err != nil {
				return err
			}
		}
		return writeComponentImages(rootfs, tmp, images, b.binPath(rootfs))
	}); err != nil {
		return err
	}
	if err := b.do("import the root filesystem into the engine", func() error {
		cmd := exec.CommandContext(ctx, "bash", "-c", `set -o pipefail; tar -C "$1" --numeric-owner -cf - . | "$2" import - "$3"`, "bash", rootfs, b.o.docker, tmpRef)
		return runQuiet(cmd)
	}); err != nil {
		return err
	}
	if err := b.do("configure systemd and containerd, preload the images", func() error {
		return b.preload(ctx, container, tmpRef, images)
	}); err != nil {
		return err
	}
	return b.do("commit "+b.ref, func() error {
		// The final tag is set here and only here: an interrupted build
		// leaves no image under it.
		if err := runQuiet(exec.CommandContext(ctx, b.o.docker, "commit",
			"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
			"--change", `CMD []`,
			"--change", "ENV container=docker",
			"--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			container, b.ref)); err != nil {
			return err
		}
		out, err := exec.CommandContext(ctx, b.o.docker, "image", "inspect", "--format", "{{.Size}}", b.ref).Output()
		if err == nil {
			var size int64
			fmt.Sscan(string(out), &size)
			b.logf("      image size %d MB, total %s", size/1_000_000, time.Since(b.start).Round(time.Second))
		}
		return nil
	})
}

func (b *build) binaries(ctx context.Context) error {
	tools, kindNode, localPath := b.o.toolsDirs()
	toolSet, err := binaries.Ensure(ctx, binaries.WithToolsDir(tools), binaries.WithCacheDir(b.o.cacheDir), binaries.WithProgress(b.o.log),
		binaries.WithOnly(binaries.KubeAPIServer, binaries.KubeControllerManager, binaries.KubeScheduler, binaries.Kubectl, binaries.Etcd))
	if err != nil {
		return err
	}
	nodeSet, err := binaries.Ensure(ctx, binaries.WithToolsDir(kindNode), binaries.WithCacheDir(b.o.cacheDir), binaries.WithProgress(b.o.log),
		binaries.WithCatalogue(binaries.KindNode))
	if err != nil {
		return err
	}
	localPathSet, err := binaries.Ensure(ctx, binaries.WithToolsDir(localPath), binaries.WithCacheDir(b.o.cacheDir), binaries.WithProgress(b.o.log),
		binaries.WithCatalogue(binaries.LocalPath))
	if err != nil {
		return err
	}
	b.bin = func(name string) string {
		for _, set := range []struct {
			bins []binaries.Binary
			set  *binaries.Set
		}{{binaries.KindNode, nodeSet}, {binaries.LocalPath, localPathSet}} {
			for _, n := range set.bins {
				if n.Name == name {
					return set.set.Path(name)
				}
			}
		}
		return toolSet.Path(name)
	}
	return nil
}

func (b *build) binPath(rootfs string) func(string) string {
	return func(name string) string {
		switch name {
		case "catatonit":
			return filepath.Join(rootfs, "usr/bin/catatonit")
		case iptablesWrapper, localPathHelper:
			return filepath.Join(b.dir, name)
		}
		return b.bin(name)
	}
}

func (b *build) debootstrap(ctx context.Context, rootfs string) error {
	logFile := filepath.Join(b.dir, "debootstrap.log")
	f, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := stopper.Command(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(Packages, ","), Suite, rootfs, b.o.mirror)
	cmd.Stdout, cmd.Stderr = f, f
	done := make(chan struct{})
	go func() { // debootstrap is quiet for minutes: say what it is doing
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				b.logf("      debootstrap: %s", lastLine(logFile))
			}
		}
	}()
	err = cmd.Run()
	close(done)
	if err != nil {
		return fmt.Errorf("debootstrap %s from %s: %w; last lines of its log:\n%s", Suite, b.o.mirror, err, tail(logFile, 15))
	}
	return nil
}

// addNodeFiles lays kind's base files and ours into the root filesystem,
// as kind's base Dockerfile and node-image build do, and trims what a
// node never reads.
func (b *build) addNodeFiles(ctx context.Context, rootfs string) error {
	kindDir, err := moduleDir(ctx, b.o.repoDir, "sigs.k8s.io/kind@"+KindVersion)
	if err != nil {
		return err
	}
	base := filepath.Join(kindDir, "images", "base", "files")
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		dst := filepath.Join(rootfs, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		return copyFile(p, dst, mode)
	})
	if err != nil {
		return fmt.Errorf("copy kind base files: %w", err)
	}
	for _, c := range []struct {
		src, dst string
		mode     os.FileMode
	}{
		{b.bin(binaries.Kubelet), "usr/bin/kubelet", 0o755},
		{b.bin(binaries.Kubeadm), "usr/bin/kubeadm", 0o755},
		{b.bin(binaries.Kubectl), "usr/bin/kubectl", 0o755},
		{b.bin(binaries.Crictl), "usr/local/bin/crictl", 0o755},
	} {
		if err := copyFile(c.src, filepath.Join(rootfs, c.dst), c.mode); err != nil {
			return err
		}
	}
	for src, dst := range map[string]string{
		"node/kubeworkshop-cni.sh":             "usr/local/bin/kubeworkshop-cni",
		"node/kubeworkshop-cni.service":        "etc/systemd/system/kubeworkshop-cni.service",
		"node/default-cni.yaml":                "kind/manifests/default-cni.yaml",
		"node/default-storage.yaml":            "kind/manifests/default-storage.yaml",
		"node/configure.sh":                    "kind/bin/kubeworkshop-configure.sh",
		"node/20-kubeworkshop.conf":            "etc/systemd/system/kubelet.service.d/20-kubeworkshop.conf",
		"node/kubeworkshop-containerd-oom.sh":  "usr/local/bin/kubeworkshop-containerd-oom",
		"node/containerd-20-kubeworkshop.conf": "etc/systemd/system/containerd.service.d/20-kubeworkshop.conf",
	} {
		data, err := nodeFiles.ReadFile(src)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(src, ".sh") {
			mode = 0o755
		}
		if err := writeFile(filepath.Join(rootfs, dst), data, mode); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(rootfs, "kind/version"), []byte(binaries.KubernetesVersion), 0o644); err != nil {
		return err
	}
	// kind's units run containerd from /usr/local/bin; Debian installs it
	// in /usr/bin. containerd looks for CNI plugins in /opt/cni/bin;
	// Debian installs them in /usr/lib/cni.
	for link, target := range map[string]string{"usr/local/bin/containerd": "/usr/bin/containerd", "opt/cni/bin": "/usr/lib/cni"} {
		p := filepath.Join(rootfs, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	}
	// Trim: documentation, locales, apt's caches and lists.
	for _, pattern := range []string{"usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
		"var/cache/apt/*.bin", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "var/log/*.log", "etc/hostname"} {
		matches, _ := filepath.Glob(filepath.Join(rootfs, pattern))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *build) preload(ctx context.Context, container, image, images string) error {
	// No network, nothing privileged: containerd only unpacks archives
	// into its content store here (--no-unpack), which needs no mounts.
	if err := runQuiet(exec.CommandContext(ctx, b.o.docker, "run", "-d", "--name", container, "--network", "none",
		"--stop-signal", "SIGRTMIN+3", "--entrypoint", "/bin/sleep", image, "infinity")); err != nil {
		return err
	}
	if err := runQuiet(exec.CommandContext(ctx, b.o.docker, "exec", container, "/kind/bin/kubeworkshop-configure.sh", "configure")); err != nil {
		return err
	}
	f, err := os.Open(images)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, b.o.docker, "exec", "-i", container, "/kind/bin/kubeworkshop-configure.sh", "preload")
	cmd.Stdin = f
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()))
	}
	var names []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "registry.k8s.io/") {
			names = append(names, l)
		}
	}
	for _, want := range componentImageNames() {
		if !strings.Contains(out.String(), want+"\n") {
			return fmt.Errorf("containerd lacks %s after the import; it has: %s", want, strings.Join(names, ", "))
		}
	}
	b.logf("      preloaded %d images", len(names))
	return runQuiet(exec.CommandContext(ctx, b.o.docker, "stop", "-t", "1", container))
}

func moduleDir(ctx context.Context, dir, mod string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, m.Error)
	}
	return m.Dir, nil
}

func runQuiet(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args[:min(3, len(cmd.Args))], " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFile(dst, data, mode)
}

func writeFile(dst string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst)
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

func lastLine(file string) string {
	t := strings.TrimSpace(tail(file, 1))
	if t == "" {
		return "starting"
	}
	return t
}

func tail(file string, n int) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// unmountUnder detaches anything still mounted below dir (an interrupted
// debootstrap leaves proc and sys mounted in the chroot), deepest first,
// so that removing the directory never reaches into a mounted filesystem.
// It reports whether nothing is mounted there any more.
func unmountUnder(dir string) bool {
	mounts := mountsUnder(dir)
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
	return len(mountsUnder(dir)) == 0
}

func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"/proc/self/mountinfo: " + err.Error()}
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}

// removeStaleBuilds deletes the scratch directories of builds that were
// interrupted before they could clean up (Ctrl-C leaves a few seconds,
// not always enough to remove a root filesystem). The caller holds the
// build lock, so none of them is in use.
func removeStaleBuilds(work string, log io.Writer) {
	dirs, _ := filepath.Glob(filepath.Join(work, "build-*"))
	for _, d := range dirs {
		if !unmountUnder(filepath.Join(d, "rootfs")) {
			fmt.Fprintf(log, "leaving %s: something is still mounted under it\n", d)
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(log, "remove the scratch directory of an interrupted build: %v\n", err)
		}
	}
}

// buildHelper compiles ./<name> (iptables-wrapper, local-path-helper),
// statically: the kube-proxy image has no libc of its own beyond what
// kube-proxy links, and the helper's image nothing else at all.
func buildHelper(ctx context.Context, repoDir, name, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./harness/kindimage/"+name)
	cmd.Dir = repoDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", name, err, b)
	}
	return nil
}
