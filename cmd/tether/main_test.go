package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain runs the tests, or, when TETHER_TEST_MAIN is set, the tether
// command itself with the test binary's arguments: the tests that need
// tether in a process of its own (real signals) start the test binary so.
func TestMain(m *testing.M) {
	if os.Getenv("TETHER_TEST_MAIN") == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// waitLimit bounds every wait of the tests.
const waitLimit = 20 * time.Second

// output is a concurrency-safe writer that tests can wait on.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	n, err := o.buf.Write(p)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitUntil waits until ok holds for the output.
func (o *output) waitUntil(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	timeout := time.After(waitLimit)
	for !ok(o.String()) {
		select {
		case <-o.changed:
		case <-timeout:
			t.Fatalf("waiting for %s; output:\n%s", what, o.String())
		}
	}
}

// waitFor waits until the output contains s.
func (o *output) waitFor(t *testing.T, s string) {
	t.Helper()
	o.waitUntil(t, strings.TrimSpace(s), func(out string) bool { return strings.Contains(out, s) })
}

// runMain runs the command line args in-process and returns its exit
// status, standard output and standard error.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := Main(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errw})
	return code, out.String(), errw.String()
}

func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, _ := runMain(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d", args, code)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Errorf("%v does not list %s:\n%s", args, c.name, out)
			}
		}
		if !strings.Contains(out, "tether serve :9001 &\n  tether connect ws://localhost:9001") {
			t.Errorf("%v has no quick try:\n%s", args, out)
		}
	}
	code, _, errOut := runMain(t)
	if code != exitUsage || !strings.Contains(errOut, "Commands:") {
		t.Errorf("no arguments: exit %d, stderr:\n%s", code, errOut)
	}
	code, _, errOut = runMain(t, "frobnicate")
	if code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestEveryFlagIsDocumented checks that the help of each subcommand names
// every flag it accepts, so that the help and the flags cannot drift.
func TestEveryFlagIsDocumented(t *testing.T) {
	var echo, broadcast bool
	for _, c := range []struct {
		name, help string
		fs         *flag.FlagSet
	}{
		{"connect", connectHelp, connectFlags(&connectConfig{})},
		{"serve", serveHelp, serveFlags(&serveConfig{}, &echo, &broadcast)},
		{"bench", benchHelp, benchFlags(&benchConfig{})},
	} {
		code, out, _ := runMain(t, c.name, "-h")
		if code != exitOK || out != c.help {
			t.Errorf("tether %s -h: exit %d, output differs from its help", c.name, code)
		}
		code, out, _ = runMain(t, "help", c.name)
		if code != exitOK || out != c.help {
			t.Errorf("tether help %s: exit %d, output differs from its help", c.name, code)
		}
		for _, section := range []string{"NAME\n", "SYNOPSIS\n", "DESCRIPTION\n", "OPTIONS\n", "EXIT STATUS\n", "EXAMPLES\n"} {
			if !strings.Contains(c.help, section) {
				t.Errorf("tether %s -h has no %s section", c.name, strings.TrimSpace(section))
			}
		}
		documented := make(map[string]bool)
		for _, n := range flagNames(c.help) {
			documented[n] = true
			if n != "h" && n != "help" && c.fs.Lookup(n) == nil {
				t.Errorf("tether %s -h documents --%s, which the command does not take", c.name, n)
			}
		}
		c.fs.VisitAll(func(f *flag.Flag) {
			if !documented[f.Name] {
				t.Errorf("tether %s takes --%s, which its help does not document", c.name, f.Name)
			}
		})
	}
}

// flagNames returns the flags an OPTIONS section mentions ("--name" and
// "-x").
func flagNames(help string) []string {
	_, opts, _ := strings.Cut(help, "\nOPTIONS\n")
	opts, _, _ = strings.Cut(opts, "\nEXIT STATUS\n")
	var names []string
	for _, f := range strings.FieldsFunc(opts, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' }) {
		if n, ok := strings.CutPrefix(f, "--"); ok && n != "" {
			names = append(names, n)
		} else if n, ok := strings.CutPrefix(f, "-"); ok && len(n) == 1 {
			names = append(names, n)
		}
	}
	return names
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runMain(t, args...)
		if code != exitOK || !strings.HasPrefix(out, "tether ") || !strings.Contains(out, "go1.") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
	old := version
	version = "v9.8.7"
	defer func() { version = old }()
	if _, out, _ := runMain(t, "version"); !strings.HasPrefix(out, "tether v9.8.7 ") {
		t.Errorf("version set at link time: output %q", out)
	}
	if code, _, _ := runMain(t, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d, want %d", code, exitUsage)
	}
}

func TestFlagsMayFollowArguments(t *testing.T) {
	var errw bytes.Buffer
	cfg, _, ok := parseConnect([]string{"ws://x/", "-H", "A: b", "--json", "--", "-not-a-flag"}, stdio{out: &errw, err: &errw})
	if ok {
		t.Fatalf("two URLs accepted: %+v", cfg)
	}
	cfg, _, ok = parseConnect([]string{"ws://x/", "-H", "A: b", "--json"}, stdio{out: &errw, err: &errw})
	if !ok || cfg.url != "ws://x/" || !cfg.json || cfg.client.header.h.Get("A") != "b" {
		t.Fatalf("parse = %+v, %v; stderr %s", cfg, ok, errw.String())
	}
	cfg, _, ok = parseConnect([]string{"--", "-dash-url"}, stdio{out: &errw, err: &errw})
	if !ok || cfg.url != "-dash-url" {
		t.Fatalf("after --: url %q ok %v", cfg.url, ok)
	}
}

// TestDocMentionsEveryFlag checks that the manual in the package
// documentation names every flag of every command.
func TestDocMentionsEveryFlag(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	var echo, broadcast bool
	for name, fs := range map[string]*flag.FlagSet{
		"connect": connectFlags(&connectConfig{}),
		"serve":   serveFlags(&serveConfig{}, &echo, &broadcast),
		"bench":   benchFlags(&benchConfig{}),
	} {
		fs.VisitAll(func(f *flag.Flag) {
			form := "--" + f.Name
			if len(f.Name) == 1 {
				form = "-" + f.Name
			}
			if !strings.Contains(doc, form+" ") && !strings.Contains(doc, form+",") && !strings.Contains(doc, form+")") && !strings.Contains(doc, form+";") {
				t.Errorf("doc.go does not mention %s of tether %s", form, name)
			}
		})
	}
}
