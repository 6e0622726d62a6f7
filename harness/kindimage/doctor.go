package kindimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ShimRuntime is the name the OCI runtime shim (.ci/runc-nosysres) is
// registered under in dockerd, and ShimPath where .ci/docker installs it.
const (
	ShimRuntime = "runc-nosysres"
	ShimPath    = "/usr/local/sbin/runc-nosysres"
)

// ProbeImage is the one-file image .ci/docker builds to try a privileged
// container.
const ProbeImage = "kubeworkshop/privileged-probe:1"

// Finding is one thing a kind cluster needs on this machine, found or not.
type Finding struct {
	Name   string
	OK     bool
	Detail string // what was found
	Fix    string // the command that fixes it, when not OK
}

// Diagnose checks, in order, what a kind cluster needs here: a running
// Docker engine, privileged containers, the runtime shim where the host's
// capability bounding set needs it, and the node image.
func Diagnose(ctx context.Context, opts ...Option) []Finding {
	o, err := newOptions(opts)
	if err != nil {
		return []Finding{{Name: "kind node image", Detail: err.Error()}}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	engine := Finding{Name: "docker engine (kind)"}
	out, err := exec.CommandContext(ctx, o.docker, "info", "--format", "{{.ServerVersion}}|{{.DefaultRuntime}}").CombinedOutput()
	info := strings.TrimSpace(string(out))
	if err != nil {
		engine.Detail = fmt.Sprintf("`%s info` failed: %s", o.docker, lastLineOf(info, err))
		engine.Fix = "`.ci/docker up` (as root) installs Debian's docker.io if needed and starts dockerd"
		return []Finding{engine, imageFinding(ctx, o, false)}
	}
	version, runtime, _ := strings.Cut(info, "|")
	engine.OK, engine.Detail = true, fmt.Sprintf("dockerd %s, default runtime %s", version, runtime)
	return []Finding{engine, privilegedFinding(ctx, o), shimFinding(runtime), imageFinding(ctx, o, true)}
}

func privilegedFinding(ctx context.Context, o options) Finding {
	f := Finding{Name: "privileged containers (kind nodes)"}
	image := ""
	if ref, err := o.reference(); err == nil && Exists(ctx, o.docker, ref) {
		image = ref
	} else if Exists(ctx, o.docker, ProbeImage) {
		image = ProbeImage
	}
	if image == "" {
		f.OK, f.Detail = true, "not tried: no local image to try with"
		return f
	}
	args := []string{"run", "--rm", "--privileged", "--network", "none", "--entrypoint", "/bin/true", image}
	if image == ProbeImage {
		args = []string{"run", "--rm", "--privileged", "--network", "none", image, "/probe", "--version"}
	}
	out, err := exec.CommandContext(ctx, o.docker, args...).CombinedOutput()
	if err != nil {
		f.Detail = "`docker run --privileged` failed: " + lastLineOf(strings.TrimSpace(string(out)), err)
		f.Fix = "`.ci/docker up` registers the shim .ci/runc-nosysres as dockerd's default runtime when this fails"
		return f
	}
	f.OK, f.Detail = true, "`docker run --privileged` works"
	return f
}

func shimFinding(runtime string) Finding {
	f := Finding{Name: "runtime shim (" + ShimRuntime + ")"}
	missing := MissingCapabilities()
	switch {
	case runtime == ShimRuntime:
		if _, err := os.Stat(ShimPath); err != nil {
			f.Detail = "dockerd's default runtime is " + ShimRuntime + " but " + ShimPath + " is missing"
			f.Fix = "`install -m 0755 .ci/runc-nosysres " + ShimPath + "`"
			return f
		}
		f.OK, f.Detail = true, "registered as dockerd's default runtime"
	case len(missing) == 0:
		f.OK, f.Detail = true, "not needed: the capability bounding set is complete"
	default:
		f.Detail = fmt.Sprintf("the host's capability bounding set lacks %s, so privileged containers fail unless the shim drops them; dockerd's default runtime is %s", strings.Join(missing, ", "), runtime)
		f.Fix = "`.ci/docker down && .ci/docker up` (a dockerd it starts gets the shim), or install .ci/runc-nosysres as " + ShimPath + " and make it the default runtime in /etc/docker/daemon.json (README, kind section)"
	}
	return f
}

func imageFinding(ctx context.Context, o options, engine bool) Finding {
	f := Finding{Name: "kind node image"}
	ref, err := o.reference()
	if err != nil {
		f.Detail = err.Error()
		return f
	}
	if engine && Exists(ctx, o.docker, ref) {
		f.OK, f.Detail = true, ref
		return f
	}
	f.Detail = ref + " is not built"
	f.Fix = "`go tool mage kind:image` (about 15 minutes cold, as root, with debootstrap and a running engine)"
	if _, err := exec.LookPath("debootstrap"); err != nil {
		f.Fix = "`apt-get install -y debootstrap`, then " + f.Fix
	}
	return f
}

// capNames are the Linux capabilities by number.
var capNames = strings.Fields(`CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
	LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
	SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD
	LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
	PERFMON BPF CHECKPOINT_RESTORE`)

// MissingCapabilities lists the capabilities (CAP_…) the kernel knows but
// this process's bounding set lacks: those a privileged container asks for
// and runc cannot grant.
func MissingCapabilities() []string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	last := len(capNames) - 1
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < last {
			last = n
		}
	}
	return missingCaps(string(status), last)
}

func missingCaps(status string, last int) []string {
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		bnd, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil
		}
		var out []string
		for i := 0; i <= last && i < len(capNames); i++ {
			if bnd&(1<<i) == 0 {
				out = append(out, "CAP_"+capNames[i])
			}
		}
		return out
	}
	return nil
}

func lastLineOf(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), "error") || strings.Contains(strings.ToLower(l), "cannot") {
			return strings.TrimSpace(l)
		}
	}
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}
