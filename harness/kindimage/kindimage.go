package kindimage

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
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
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// Versions of the inputs that are not pinned by a go.mod.
const (
	// KindVersion is the kind module whose base files the node takes; it
	// must match the kind the harness drives (go.mod).
	KindVersion = "v0.33.0"
	// Suite is the Debian release the root filesystem is bootstrapped from.
	Suite = "bookworm"
	// Repository is the name the node image is tagged with; the tag is the
	// Kubernetes version and a hash of every input.
	Repository = "kubeworkshop/kind-node"
	// recipe changes whenever the way the image is built changes.
	recipe = "5"
)

// Packages are the Debian packages of the node's root filesystem, on top
// of debootstrap's minbase: those of kind's base image that a node needs
// here, with Debian's containerd, runc and CNI plugins instead of builds
// from GitHub, and catatonit as the pause process.
var Packages = []string{
	"systemd", "dbus", "conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount",
	"kmod", "libseccomp2", "bash", "ca-certificates", "jq", "procps", "socat",
	"containerd", "runc", "containernetworking-plugins", "catatonit",
}

//go:embed node
var nodeFiles embed.FS

// ErrPrerequisite means the machine lacks something the build needs (root,
// debootstrap, a container engine); the message says how to get it.
var ErrPrerequisite = errors.New("kind node image prerequisite missing")

type options struct {
	log      io.Writer
	repoDir  string
	cacheDir string
	mirror   string
	docker   string
}

// Option configures Ensure and Reference.
type Option func(*options)

// WithLog sets where progress is printed, one line per step (default:
// nowhere).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithRepoDir sets the repository root holding tools/ (default: found from
// the working directory).
func WithRepoDir(dir string) Option { return func(o *options) { o.repoDir = dir } }

// WithCacheDir sets the cache root for binaries and build files (default:
// binaries.CacheRoot()).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithMirror sets the Debian mirror (default: $KIND_DEBIAN_MIRROR, then the
// one apt is configured with, then deb.debian.org).
func WithMirror(url string) Option { return func(o *options) { o.mirror = url } }

// WithDocker sets the docker CLI (default "docker").
func WithDocker(path string) Option { return func(o *options) { o.docker = path } }

func newOptions(opts []Option) (options, error) {
	o := options{log: io.Discard, docker: "docker"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.repoDir == "" {
		root, err := repo.Root("")
		if err != nil {
			return o, err
		}
		o.repoDir = root
	}
	if o.cacheDir == "" {
		root, err := binaries.CacheRoot()
		if err != nil {
			return o, err
		}
		o.cacheDir = root
	}
	if o.mirror == "" {
		o.mirror = os.Getenv("KIND_DEBIAN_MIRROR")
	}
	if o.mirror == "" {
		o.mirror = AptMirror("/etc/apt")
	}
	return o, nil
}

func (o options) toolsDirs() (tools, kindNode, localPath string) {
	tools = filepath.Join(o.repoDir, "tools")
	return tools, filepath.Join(tools, binaries.KindNodeTools), filepath.Join(tools, binaries.LocalPathTools)
}

// Reference returns the node image's reference for the current inputs,
// without building or checking anything. It is cheap: it hashes the two
// tools modules' go.mod and go.sum.
func Reference(opts ...Option) (string, error) {
	o, err := newOptions(opts)
	if err != nil {
		return "", err
	}
	return o.reference()
}

func (o options) reference() (string, error) {
	tools, kindNode, localPath := o.toolsDirs()
	h := sha256.New()
	for _, dir := range []string{tools, kindNode, localPath} {
		k, err := binaries.Key(dir)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "tools %s\n", k)
	}
	fmt.Fprintf(h, "recipe %s\nkind %s\nsuite %s\nmirror %s\npackages %q\nimages %q\n",
		recipe, KindVersion, Suite, o.mirror, Packages, componentImageNames())
	err := fs.WalkDir(nodeFiles, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := nodeFiles.ReadFile(path)
		fmt.Fprintf(h, "file %s %d\n", path, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%s-%s", Repository, binaries.KubernetesVersion, hex.EncodeToString(h.Sum(nil))[:12]), nil
}

// Exists reports whether the engine has the image ref.
func Exists(ctx context.Context, docker, ref string) bool {
	return exec.CommandContext(ctx, docker, "image", "inspect", "--format", "{{.Id}}", ref).Run() == nil
}

// Ensure returns the node image's reference, building the image first if
// the engine does not have it. A warm call hashes a few files and asks the
// engine once.
func Ensure(ctx context.Context, opts ...Option) (string, error) {
	o, err := newOptions(opts)
	if err != nil {
		return "", err
	}
	ref, err := o.reference()
	if err != nil {
		return "", err
	}
	if Exists(ctx, o.docker, ref) {
		return ref, nil
	}
	if err := o.prerequisites(ctx); err != nil {
		return "", err
	}
	work := filepath.Join(o.cacheDir, "kind-image")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return "", err
	}
	unlock, err := binaries.Lock(ctx, filepath.Join(work, ".lock"), o.log)
	if err != nil {
		return "", err
	}
	defer unlock()
	if Exists(ctx, o.docker, ref) { // built by another process while we waited
		return ref, nil
	}
	removeStaleBuilds(work, o.log)
	b := &build{o: o, ref: ref, start: time.Now()}
	if err := b.run(ctx, work); err != nil {
		return "", fmt.Errorf("build kind node image %s: %w", ref, err)
	}
	return ref, nil
}

func (o options) prerequisites(ctx context.Context) error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (debootstrap and chroot need it): run as root")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		missing = append(missing, "debootstrap: `apt-get install -y debootstrap`")
	}
	if out, err := exec.CommandContext(ctx, o.docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		missing = append(missing, fmt.Sprintf("a running Docker engine (`%s info`: %s): `.ci/docker up` installs and starts one", o.docker, strings.TrimSpace(string(out))))
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrPrerequisite, strings.Join(missing, "; "))
	}
	return nil
}

// AptMirror returns the first Debian mirror named in apt's sources under
// etc (deb822 .sources files, then sources.list), or deb.debian.org.
func AptMirror(etc string) string {
	files, _ := filepath.Glob(filepath.Join(etc, "sources.list.d", "*.sources"))
	for _, f := range files {
		if m := mirrorIn(f, func(line string) (string, bool) {
			v, ok := strings.CutPrefix(line, "URIs:")
			return strings.TrimSpace(v), ok
		}); m != "" {
			return m
		}
	}
	if m := mirrorIn(filepath.Join(etc, "sources.list"), func(line string) (string, bool) {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "deb" && f[2] == Suite {
			return f[1], true
		}
		return "", false
	}); m != "" {
		return m
	}
	return "http://deb.debian.org/debian"
}

func mirrorIn(path string, match func(string) (string, bool)) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := match(strings.TrimSpace(sc.Text())); ok && v != "" && !strings.Contains(v, "security") {
			return strings.Fields(v)[0]
		}
	}
	return ""
}

// stopper interrupts the build's child processes like Ctrl-C would.
var stopper = proc.New(proc.WithStopSignal(syscall.SIGINT), proc.WithGrace(3*time.Second))
