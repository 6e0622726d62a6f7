package demotest

import (
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

// ExitTimeout bounds how long a demo command may run in a spec.
const ExitTimeout = 2 * time.Minute

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Build compiles the main package pkg (an import path) once per process and returns the
// binary's path. Call it from a BeforeAll or a spec. The binary lives in gexec's build
// directory, which a harness/e2e suite removes when the suite ends.
func Build(pkg string) string {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	p, err := gexec.Build(pkg)
	gomega.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "build %s", pkg)
	built[pkg] = p
	return p
}

// Start runs bin with args (and stdin, if not empty), streaming its output to the
// ginkgo writer, and returns the running session.
func Start(bin, stdin string, args ...string) *gexec.Session {
	cmd := exec.Command(bin, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	ginkgo.By("running " + shortName(bin) + " " + strings.Join(args, " "))
	s, err := gexec.Start(cmd, ginkgo.GinkgoWriter, ginkgo.GinkgoWriter)
	gomega.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	return s
}

// Run runs bin to completion and returns the finished session; check s.ExitCode(),
// s.Out.Contents() and s.Err.Contents().
func Run(bin, stdin string, args ...string) *gexec.Session {
	s := Start(bin, stdin, args...)
	gomega.EventuallyWithOffset(1, s).WithTimeout(ExitTimeout).Should(gexec.Exit())
	return s
}

// Lines splits output into non-empty lines.
func Lines(b []byte) []string {
	var out []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func shortName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
