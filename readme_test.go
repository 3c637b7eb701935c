package tether_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// module is the import path of the root package.
const module = "github.com/tetherws/tether"

// quickStartExample is the file whose functions the README's Quick start
// copies.
const quickStartExample = "example_quickstart_test.go"

// quickStart returns the Go code blocks of the Quick start section of
// README.md.
func quickStart(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README.md has no Quick start section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```go\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "```\n")
		if !ok {
			t.Fatal("README.md: a Go block of the Quick start is not closed")
		}
		blocks = append(blocks, block)
		section = after
	}
}

// funcSources returns the source text of each top-level function of the
// Go file src, its doc comment included, by name.
func funcSources(t *testing.T, name, src string) (*ast.File, map[string]string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	funcs := make(map[string]string)
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Recv != nil {
			continue
		}
		start := fd.Pos()
		if fd.Doc != nil {
			start = fd.Doc.Pos()
		}
		funcs[fd.Name.Name] = src[fset.Position(start).Offset:fset.Position(fd.End()).Offset]
	}
	return f, funcs
}

// The Quick start of README.md is a server and a client, each a program
// that imports only the root package of tether, whose functions other
// than main are those of the package example, byte for byte: the example
// runs them, so the README shows tested code.
func TestReadmeQuickStartIsTheExample(t *testing.T) {
	blocks := quickStart(t)
	if len(blocks) != 2 {
		t.Fatalf("the Quick start has %d Go blocks, want 2 (a server and a client)", len(blocks))
	}
	example, err := os.ReadFile(quickStartExample)
	if err != nil {
		t.Fatal(err)
	}
	_, tested := funcSources(t, quickStartExample, string(example))
	for i, block := range blocks {
		name := fmt.Sprintf("README.md Quick start block %d", i+1)
		f, funcs := funcSources(t, name, block)
		if f.Name.Name != "main" {
			t.Errorf("%s: package %s, want a program (package main)", name, f.Name.Name)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, module+"/") {
				t.Errorf("%s imports %s: the Quick start imports only %s", name, path, module)
			}
		}
		if _, ok := funcs["main"]; !ok {
			t.Errorf("%s has no func main", name)
		}
		copied := 0
		for fn, src := range funcs {
			if fn == "main" {
				continue
			}
			want, ok := tested[fn]
			switch {
			case !ok:
				t.Errorf("%s: func %s is not in %s, so no example runs it", name, fn, quickStartExample)
			case src != want:
				t.Errorf("%s: func %s differs from %s's:\n%s\nwant:\n%s", name, fn, quickStartExample, src, want)
			default:
				copied++
			}
		}
		if copied == 0 {
			t.Errorf("%s copies no function of %s", name, quickStartExample)
		}
	}
}

// The programs of the Quick start build, each as a main package of this
// module laid over the source tree with go build -overlay (nothing is
// written into the tree).
func TestReadmeQuickStartBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs with the go command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	args := []string{"build", "-overlay", filepath.Join(dir, "overlay.json"), "-o", dir + string(filepath.Separator)}
	for i, block := range quickStart(t) {
		file := filepath.Join(dir, fmt.Sprintf("block%d.go", i+1))
		if err := os.WriteFile(file, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		pkg := fmt.Sprintf("internal/readmequickstart/block%d", i+1)
		overlay["Replace"][filepath.Join(root, pkg, "main.go")] = file
		args = append(args, "./"+pkg)
	}
	js, err := json.Marshal(overlay)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "overlay.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	for i := range len(overlay["Replace"]) {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("block%d", i+1))); err != nil {
			t.Errorf("go build wrote no program for Quick start block %d: %v", i+1, err)
		}
	}
}
