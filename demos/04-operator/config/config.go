package config

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// Dir is the path of this directory relative to the repository root.
const Dir = "demos/04-operator/config"

//go:embed crd/bases/*.yaml rbac/*.yaml samples/*.yaml manager/*.yaml default/*.yaml
var files embed.FS

// ControllerGenArgs returns the arguments for `go tool controller-gen` that
// regenerate deepcopy functions, CRDs and RBAC, run from the repository root.
// crdDir, rbacDir and objectDir say where the output goes; empty strings mean
// the checked-in locations (objectDir empty writes zz_generated.deepcopy.go
// next to the types).
func ControllerGenArgs(crdDir, rbacDir, objectDir string) []string {
	if crdDir == "" {
		crdDir = Dir + "/crd/bases"
	}
	if rbacDir == "" {
		rbacDir = Dir + "/rbac"
	}
	args := []string{
		"object",
		"crd:generateEmbeddedObjectMeta=true,maxDescLen=0",
		"rbac:roleName=podset-operator",
		"paths=./demos/04-operator/api/...",
		"paths=./demos/04-operator/cmd/...",
		"paths=./demos/04-operator/internal/controller/...",
		"output:crd:artifacts:config=" + crdDir,
		"output:rbac:artifacts:config=" + rbacDir,
	}
	if objectDir != "" {
		args = append(args, "output:object:dir="+objectDir)
	}
	return args
}

// CRDs returns the generated CustomResourceDefinition manifests, sorted by
// file name.
func CRDs() ([][]byte, error) { return readDir("crd/bases") }

// RBAC returns the ClusterRole and Role generated from the RBAC markers, the
// ServiceAccount, and the other RBAC manifests of the in-cluster deployment.
func RBAC() ([][]byte, error) { return readDir("rbac") }

// Samples returns the sample PodSets and OperatorConfig.
func Samples() ([][]byte, error) { return readDir("samples") }

// Manager returns the Namespace and the Deployment for running the operator
// inside a cluster.
func Manager() ([][]byte, error) { return readDir("manager") }

// File returns one embedded manifest by its path relative to this directory,
// such as "samples/podset.yaml".
func File(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read embedded manifest %s: %w", name, err)
	}
	return b, nil
}

func readDir(dir string) ([][]byte, error) {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, fmt.Errorf("list embedded manifests in %s: %w", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() && path.Ext(e.Name()) == ".yaml" && e.Name() != "kustomization.yaml" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := File(path.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
