package deck

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// mageTargets returns the lower-cased names ("ns:target" or "target") of
// the mage targets defined in dir, or nil when dir does not exist.
// Mage matches target names case-insensitively, and so does the check.
func mageTargets(dir string) (map[string]bool, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("listing magefiles: %w", err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	namespaces := map[string]bool{}
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parsing magefile: %w", err)
		}
		parsed = append(parsed, file)
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				ts := spec.(*ast.TypeSpec)
				if sel, ok := ts.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Namespace" {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "mg" {
						namespaces[ts.Name.Name] = true
					}
				}
			}
		}
	}
	targets := map[string]bool{}
	for _, file := range parsed {
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			if fn.Recv == nil {
				targets[strings.ToLower(fn.Name.Name)] = true
				continue
			}
			if len(fn.Recv.List) != 1 {
				continue
			}
			recv, ok := fn.Recv.List[0].Type.(*ast.Ident)
			if ok && namespaces[recv.Name] {
				targets[strings.ToLower(recv.Name+":"+fn.Name.Name)] = true
			}
		}
	}
	return targets, nil
}
