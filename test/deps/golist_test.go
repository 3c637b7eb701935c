package deps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goLimit bounds each go command the tests run.
const goLimit = 3 * time.Minute

// goCommand returns the path of the go command, skipping the test when
// there is none on PATH.
func goCommand(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH (%v): the dependency rules are read with go list", err)
	}
	return gobin
}

// runGo runs the go command with args in dir, with env added to the
// environment, and returns its standard output. A failure returns an error
// that carries the command's standard error.
func runGo(t *testing.T, dir string, env []string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), goLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCommand(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &goError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

// goError is a go command that failed.
type goError struct {
	args   []string
	err    error
	stderr string
}

func (e *goError) Error() string {
	return "go " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

func (e *goError) Unwrap() error { return e.err }

// moduleRoot returns the directory of tether's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := runGo(t, ".", nil, "env", "GOMOD")
	if err != nil {
		t.Fatal(err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD = %q: the test does not run inside tether's module", gomod)
	}
	return filepath.Dir(gomod)
}

// listed is one package of go list -json.
type listed struct {
	ImportPath string
	Standard   bool
	ForTest    string
	Module     *struct{ Path string }
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

// isTest reports whether p is a test variant or a test binary rather than
// the package that other packages import.
func (p *listed) isTest() bool {
	return p.ForTest != "" || strings.HasSuffix(p.ImportPath, ".test")
}

// listAll runs go list -deps -test over every package of the module in
// root and returns every package it lists (tether's, their tests, and all
// they are built from), by import path.
func listAll(t *testing.T, root string) map[string]*listed {
	t.Helper()
	out, err := runGo(t, root, nil, "list", "-e", "-deps", "-test",
		"-json=ImportPath,Standard,ForTest,Module,Imports,Deps,Error", "./...")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := make(map[string]*listed)
	var failed []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listed)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Error != nil {
			failed = append(failed, p.ImportPath+": "+p.Error.Err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(failed) > 0 {
		t.Fatalf("go list could not load every package, so the imports cannot be checked:\n%s", strings.Join(failed, "\n"))
	}
	return pkgs
}
