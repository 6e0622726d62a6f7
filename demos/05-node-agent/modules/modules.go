package modules

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Programs are the example programs under programs/, each compiled to <name>.wasm.
var Programs = []string{"hello", "ticker", "fail", "oom", "env"}

// Trap is a complete WebAssembly module whose _start executes `unreachable`:
// the smallest program that traps. Go cannot produce a trap on purpose (its
// runtime turns faults into panics and exit code 2), so it is written here
// byte by byte.
var Trap = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic "\0asm", version 1
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: one type, func() -> ()
	0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00, // export "_start" = func 0
	0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: no locals, unreachable, end
}

// Build compiles every program into dir (created if missing) with the go
// command found on PATH, writing the compiler's output to log, and adds
// trap.wasm. srcDir is this package's directory in the repository.
func Build(ctx context.Context, srcDir, dir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the module store %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for _, p := range Programs {
		out := filepath.Join(abs, p+".wasm")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./programs/"+p)
		cmd.Dir = srcDir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("compile %s to WebAssembly (GOOS=wasip1 GOARCH=wasm go build ./programs/%s): %w", p, p, err)
		}
		fmt.Fprintf(log, "built %s\n", out)
	}
	out := filepath.Join(abs, "trap.wasm")
	if err := os.WriteFile(out, Trap, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(log, "wrote %s\n", out)
	return nil
}
