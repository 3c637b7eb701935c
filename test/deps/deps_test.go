package deps

import (
	"slices"
	"strings"
	"testing"
)

// The packages every layer of the rule must find, so that a listing that
// misses them (a wrong directory, a broken pattern) fails instead of
// checking nothing.
var expected = []string{".", "ws", "compress", "keepalive", "runtime", "runtime/hub", "reconnect", "internal/inflateref", "test/conformance/wire"}

func TestLibraryFollowsTheOneWayDependencyRule(t *testing.T) {
	pkgs := listAll(t, moduleRoot(t))
	checked := make(map[string]bool)
	for _, p := range pkgs {
		rel, ours := relPath(p.ImportPath)
		if !ours || p.isTest() {
			continue
		}
		checked[rel] = true
		for _, dep := range p.Deps {
			if depRel, ok := relPath(dep); ok {
				if why := checkTether(rel, depRel); why != "" {
					t.Error(why)
				}
			}
		}
		for _, imp := range p.Imports {
			q := pkgs[imp]
			if q == nil {
				t.Errorf("%s imports %s, which go list did not list", rel, imp)
				continue
			}
			if _, ok := relPath(imp); ok || q.Standard || imp == "C" {
				continue
			}
			mod := ""
			if q.Module != nil {
				mod = q.Module.Path
			}
			if why := checkModule(rel, imp, mod); why != "" {
				t.Error(why)
			}
		}
	}
	for _, rel := range expected {
		if !checked[rel] {
			t.Errorf("go list did not list package %s of the module", rel)
		}
	}
}

// TestNoPackageImportsNATS covers the tests of the module too: nothing
// that go test builds here may pull a NATS package in.
func TestNoPackageImportsNATS(t *testing.T) {
	pkgs := listAll(t, moduleRoot(t))
	if len(pkgs) == 0 {
		t.Fatal("go list listed no package")
	}
	for path := range pkgs {
		base, _, _ := strings.Cut(path, " ") // "p [q.test]" is p built for q's test
		if !strings.HasPrefix(base, "github.com/nats-io/") {
			continue
		}
		var by []string
		for _, p := range pkgs {
			if _, ours := relPath(strings.Fields(p.ImportPath)[0]); ours && slices.Contains(p.Imports, path) {
				by = append(by, p.ImportPath)
			}
		}
		t.Errorf("%s is built into the module's packages or tests (imported by %v); it belongs to the natsbroker module", path, by)
	}
}

// TestRulesRefuseWhatTheyForbid checks the checker on imports that do not
// exist, so that a rule that lets everything through cannot go unnoticed.
func TestRulesRefuseWhatTheyForbid(t *testing.T) {
	tether := []struct {
		from, to string
		ok       bool
	}{
		{"ws", "ws/internal/frames", true},
		{"ws", "compress", false},
		{"ws", "internal/corpus", false},
		{"compress", "ws", true},
		{"compress", "keepalive", false},
		{"keepalive", "internal/fakeclock", true},
		{"keepalive", "ws", false},
		{"keepalive", "runtime", false},
		{"runtime", "ws", true},
		{"runtime", "compress", true},
		{"runtime", "keepalive", true},
		{"runtime", "runtime/internal/sockio", true},
		{"runtime/hub", "runtime", true},
		{"runtime/hub/internal/hubtest", "runtime", true},
		{"runtime", "reconnect", false},
		{"runtime/hub", "reconnect", false},
		{"runtime", ".", false},
		{"runtime/hub", "cmd/examples/chat", false},
		{"runtime", "test/conformance", false},
		{"reconnect", "runtime", true},
		{"reconnect", ".", false},
		{"reconnect", "cmd/examples/bot", false},
		{"ws", ".", false},
		{"compress", ".", false},
		{"keepalive", ".", false},
		{"internal/fakeclock", "keepalive", true},
		{"internal/fakeclock", ".", false},
		{"internal/fakeclock", "reconnect", false},
		{".", "runtime", true},
		{".", "cmd/examples/echoserver", false},
		{".", "test/conformance/wire", false},
		{"proxy", "runtime", true}, // a new library package: libraryRule
		{"proxy", ".", false},
		{"proxy", "reconnect", false},
		{"proxy", "cmd/examples/proxyclient", false},
		{"cmd/examples/bot", "reconnect", true},
		{"cmd/examples/bot", "cmd/examples/bot/feedserver", true},
		{"test/conformance", "runtime", true},
		{"internal/inflateref", "compress", false},
		{"internal/inflateref", "ws", false},
		{"internal/inflateref", "internal/corpus", false},
		{"compress", "internal/inflateref", false},
		{"test/conformance/wire", "internal/inflateref", true},
		{"test/conformance/wire", "ws", false},
		{"test/conformance/wire", "compress", false},
		{"test/conformance/wire", "runtime", false},
		{"test/conformance/wire", "internal/corpus", false},
	}
	for _, c := range tether {
		if why := checkTether(c.from, c.to); (why == "") != c.ok {
			t.Errorf("%s importing %s: allowed %v, want %v (%s)", c.from, c.to, why == "", c.ok, why)
		}
	}
	modules := []struct {
		from, path, mod string
		ok              bool
	}{
		{"ws", "github.com/klauspost/compress/flate", "github.com/klauspost/compress", false},
		{"compress", "github.com/klauspost/compress/flate", "github.com/klauspost/compress", true},
		{"compress", "golang.org/x/net/http2", "golang.org/x/net", false},
		{"keepalive", "golang.org/x/sync/errgroup", "golang.org/x/sync", false},
		{"runtime", "golang.org/x/net/http2", "golang.org/x/net", true},
		{"runtime/hub", "github.com/nats-io/nats.go", "github.com/nats-io/nats.go", false},
		{"runtime", "example.com/other", "example.com/other", false},
		{".", "golang.org/x/sync/errgroup", "golang.org/x/sync", true},
		{"cmd/examples/chat", "example.com/other", "example.com/other", true},
		{"cmd/examples/chat", "github.com/nats-io/nats.go", "github.com/nats-io/nats.go", false},
		{"test/interop/cmd/interop", "github.com/nats-io/nkeys", "github.com/nats-io/nkeys", false},
		{"internal/inflateref", "github.com/klauspost/compress/flate", "github.com/klauspost/compress", false},
		{"test/conformance/wire", "github.com/klauspost/compress/flate", "github.com/klauspost/compress", false},
	}
	for _, c := range modules {
		if why := checkModule(c.from, c.path, c.mod); (why == "") != c.ok {
			t.Errorf("%s importing %s: allowed %v, want %v (%s)", c.from, c.path, why == "", c.ok, why)
		}
	}
}
