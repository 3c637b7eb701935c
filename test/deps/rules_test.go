package deps

import (
	"fmt"
	"strings"
)

// module is the path of tether's module; rules name packages by their
// path inside it ("runtime/hub"), and "." is the root package itself.
const module = "github.com/tetherws/tether"

// rule says what the packages under one path prefix may import. Tether
// packages are checked transitively (everything the package is built
// from), modules outside the standard library by direct import.
type rule struct {
	prefix string // package path prefix inside the module ("." for the root package alone)

	// Tether packages. With only set, a package may import nothing of
	// tether but packages under these prefixes and under its own prefix;
	// otherwise it may import anything of tether but packages under never.
	only  []string
	never []string

	// modules are the modules outside the standard library that a package
	// may import directly; anyModule lifts that limit.
	modules   []string
	anyModule bool
}

// libraryModules are the modules the library is built on, other than the
// standard library.
var libraryModules = []string{"github.com/klauspost/compress", "golang.org/x/net", "golang.org/x/sync"}

// rules is the one-way dependency rule, by package path prefix: the
// longest prefix that matches a package's path is its rule. A package that
// no prefix matches (a new top-level package of the library) gets
// libraryRule, so new packages are checked from the start.
var rules = []rule{
	{prefix: "ws", only: []string{}}, // the standard library and its own packages only
	{prefix: "compress", only: []string{"ws"}, modules: []string{"github.com/klauspost/compress"}},
	{prefix: "keepalive", only: []string{"internal"}},
	{prefix: "runtime", only: []string{"ws", "compress", "keepalive", "internal"}, modules: libraryModules},
	{prefix: "reconnect", only: []string{"ws", "compress", "keepalive", "internal", "runtime"}, modules: libraryModules},
	{prefix: "internal", never: []string{".", "reconnect", "cmd", "test"}, modules: libraryModules},
	// The reference DEFLATE decoder checks the compressor, so it shares
	// nothing with it: the standard library only.
	{prefix: "internal/inflateref", only: []string{}},
	{prefix: ".", never: []string{"cmd", "test"}, modules: libraryModules},
	{prefix: "cmd", never: []string{"test"}, anyModule: true},
	{prefix: "test", never: []string{"cmd"}, anyModule: true},
	// The conformance suite's own framing is independent of the library it
	// tests: the standard library and the reference decoder only.
	{prefix: "test/conformance/wire", only: []string{"internal/inflateref"}},
}

// libraryRule is the rule of a library package that no prefix of rules
// matches: it sits with runtime, under reconnect and the root package.
var libraryRule = rule{prefix: "(library)", never: []string{".", "reconnect", "cmd", "test"}, modules: libraryModules}

// under reports whether the module-relative package path rel is prefix or
// a package below it; the prefix "." matches the root package alone.
func under(rel, prefix string) bool {
	if prefix == "." || rel == "." {
		return rel == prefix
	}
	return rel == prefix || strings.HasPrefix(rel, prefix+"/")
}

// underAny reports whether rel is under one of prefixes.
func underAny(rel string, prefixes []string) bool {
	for _, p := range prefixes {
		if under(rel, p) {
			return true
		}
	}
	return false
}

// ruleFor returns the rule of the module-relative package path rel.
func ruleFor(rel string) rule {
	best, found := libraryRule, false
	for _, r := range rules {
		if under(rel, r.prefix) && (!found || len(r.prefix) > len(best.prefix)) {
			best, found = r, true
		}
	}
	return best
}

// relPath returns the path of the tether package path inside the module
// ("." for the root package), and whether path is tether's at all.
func relPath(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// checkTether returns why the tether package rel may not be built from the
// tether package dep, or "" if it may.
func checkTether(rel, dep string) string {
	r := ruleFor(rel)
	switch {
	case r.only != nil && !under(dep, r.prefix) && !underAny(dep, r.only):
		return fmt.Sprintf("%s imports %s: the rule for %s allows only %s", rel, dep, r.prefix, describe(r))
	case r.only == nil && underAny(dep, r.never):
		return fmt.Sprintf("%s imports %s: the rule for %s forbids %s", rel, dep, r.prefix, strings.Join(r.never, ", "))
	}
	return ""
}

// checkModule returns why the tether package rel may not import the
// package path of the module mod (outside the standard library), or "" if
// it may.
func checkModule(rel, path, mod string) string {
	if strings.HasPrefix(mod, "github.com/nats-io") || strings.HasPrefix(path, "github.com/nats-io/") {
		return fmt.Sprintf("%s imports %s: NATS belongs to the natsbroker module, not the library's", rel, path)
	}
	r := ruleFor(rel)
	if r.anyModule {
		return ""
	}
	for _, m := range r.modules {
		if mod == m {
			return ""
		}
	}
	allowed := "none"
	if len(r.modules) > 0 {
		allowed = strings.Join(r.modules, ", ")
	}
	return fmt.Sprintf("%s imports %s (module %s): the rule for %s allows only the standard library and modules %s", rel, path, mod, r.prefix, allowed)
}

// describe lists what a rule with only set allows.
func describe(r rule) string {
	allowed := append([]string{r.prefix}, r.only...)
	return strings.Join(allowed, ", ") + " (and what is below them)"
}
