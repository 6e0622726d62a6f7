package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotFound means no repository root was found above a directory.
var ErrNotFound = errors.New("kubeworkshop repository root not found")

// marker is a file only the repository root has.
var marker = filepath.Join("tools", "go.mod")

// Root walks up from dir (the working directory when empty) to the first
// directory that holds tools/go.mod.
func Root(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, marker)); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w above %s: run from inside the kubeworkshop repository", ErrNotFound, dir)
		}
	}
}
