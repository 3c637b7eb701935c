package tether_test

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"testing"
)

// exportedNames returns the exported package-level names (types,
// functions, variables and constants; not methods) that the Go files of
// the package in dir declare for this platform, without its tests.
func exportedNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	pkg, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	names := make(map[string]bool)
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names[s.Name.Name] = true
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	return names
}

// Every exported name of package runtime is in the root package under the
// same name, so that a program never needs to import runtime (whose name
// clashes with Go's own package runtime).
func TestRootReExportsEveryRuntimeName(t *testing.T) {
	runtimeNames := exportedNames(t, "runtime")
	root := exportedNames(t, ".")
	if len(runtimeNames) < 20 {
		t.Fatalf("found only %d exported names in package runtime: %v", len(runtimeNames), runtimeNames)
	}
	var missing []string
	for name := range runtimeNames {
		if !root[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("package runtime exports %d names the root package does not: %v", len(missing), missing)
	}
}
