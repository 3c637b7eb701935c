package deps

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// userImport is the one package of tether that the scratch module of
// TestUserBuildListHasNoNATS imports: what a program that uses tether
// imports.
const userImport = module

// offline are marks of a go command that failed because it could not
// fetch a module (no network, GOPROXY=off, an empty module cache).
var offline = []string{
	"module lookup disabled",
	"dial tcp",
	"no such host",
	"connection refused",
	"network is unreachable",
	"i/o timeout",
	"verifying module",
	"Get \"http",
}

// A program that imports tether must not find NATS in its build list:
// the NATS broker is a module of its own.
func TestUserBuildListHasNoNATS(t *testing.T) {
	root := moduleRoot(t)
	dir := t.TempDir()
	gomod := "module example.com/scratch\n\ngo 1.26.0\n\n" +
		"require " + module + " v0.0.0-00010101000000-000000000000\n\n" +
		"replace " + module + " => " + root + "\n"
	main := "package main\n\nimport _ \"" + userImport + "\"\n\nfunc main() {}\n"
	write(t, filepath.Join(dir, "go.mod"), gomod)
	write(t, filepath.Join(dir, "main.go"), main)
	// tether's checksums, so that resolving its requirements needs no
	// checksum database.
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), string(sums))

	out, err := runGo(t, dir, []string{"GOFLAGS=-mod=mod", "GOWORK=off"}, "list", "-m", "all")
	if err != nil {
		var ge *goError
		if errors.As(err, &ge) && fetchFailed(ge.stderr) {
			t.Skipf("the module cache cannot resolve tether's requirements without fetching (run go mod download with a module proxy first): %v", err)
		}
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, _, _ := strings.Cut(line, " ")
		if path == module {
			found = true
		}
		if strings.HasPrefix(path, "github.com/nats-io/") {
			t.Errorf("a module importing only %s has %s in its build list", userImport, line)
		}
	}
	if !found {
		t.Fatalf("go list -m all does not list %s:\n%s", module, out)
	}
}

// fetchFailed reports whether the standard error of a go command says it
// could not fetch a module.
func fetchFailed(stderr string) bool {
	for _, mark := range offline {
		if strings.Contains(stderr, mark) {
			return true
		}
	}
	return false
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
