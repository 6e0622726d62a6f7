package deck

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ScriptsDir and OutputDir hold, relative to the repository root, the
// shell scripts shown on slides and the output the slide-script e2e
// recorded for each (OutputDir/NAME.txt for ScriptsDir/NAME.sh).
const (
	ScriptsDir = "slides/scripts"
	OutputDir  = "slides/scripts/out"
)

// SumsFile lists, in sha256sum's format, the SHA-256 of each script as it
// was when its output was recorded, so a changed script with an old
// output is caught.
const SumsFile = OutputDir + "/SHA256SUMS"

// rerecord says how to refresh recorded output.
const rerecord = "run the slide scripts' e2e suite (SUITE=slides go tool mage e2e) to record it"

// OutputFor returns the recorded output's path for a script's path.
func OutputFor(script string) string {
	return OutputDir + "/" + strings.TrimSuffix(path.Base(script), ".sh") + ".txt"
}

// ScriptSum returns the hex SHA-256 of a script's content.
func ScriptSum(script []byte) string {
	sum := sha256.Sum256(script)
	return hex.EncodeToString(sum[:])
}

// readSums reads SumsFile under root into a map from script base name to
// sum; a missing file is an empty map.
func readSums(root string) (map[string]string, error) {
	sums := map[string]string{}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(SumsFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return sums, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", SumsFile, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"SUM  NAME.sh\", got %q", SumsFile, n, sc.Text())
		}
		sums[name] = sum
	}
	return sums, sc.Err()
}

// RecordOutput writes output as the recorded output of script (a path
// relative to root, such as "slides/scripts/00-object.sh") and notes the
// script's current sum in SumsFile.
func RecordOutput(root, script string, output []byte) error {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(script)))
	if err != nil {
		return fmt.Errorf("reading script: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(OutputDir)), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", OutputDir, err)
	}
	if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(OutputFor(script))), output, 0o644); err != nil {
		return fmt.Errorf("recording output: %w", err)
	}
	sums, err := readSums(root)
	if err != nil {
		return err
	}
	sums[path.Base(script)] = ScriptSum(src)
	names := make([]string, 0, len(sums))
	for name := range sums {
		names = append(names, name)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	for _, name := range names {
		fmt.Fprintf(&buf, "%s  %s\n", sums[name], name)
	}
	if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(SumsFile)), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", SumsFile, err)
	}
	return nil
}
