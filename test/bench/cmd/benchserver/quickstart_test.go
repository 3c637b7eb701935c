package main

import (
	"os"
	"strings"
	"testing"
)

// funcText returns the text of the function named name in src, from its
// "func" line to its closing brace.
func funcText(t *testing.T, src, name string) string {
	t.Helper()
	i := strings.Index(src, "\nfunc "+name+"(")
	if i < 0 {
		t.Fatalf("no func %s", name)
	}
	j := strings.Index(src[i:], "\n}\n")
	if j < 0 {
		t.Fatalf("func %s does not end", name)
	}
	return src[i+1 : i+j+2]
}

// TestTetherEchoIsTheQuickStart: the benchmarked tether echo server is
// the handler a newcomer copies from the README.
func TestTetherEchoIsTheQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	libs, err := os.ReadFile("libs.go")
	if err != nil {
		t.Fatal(err)
	}
	want := funcText(t, string(readme), "echo")
	if got := funcText(t, string(libs), "echo"); got != want {
		t.Fatalf("benchserver's echo differs from the README's Quick Start:\n%s\nREADME:\n%s", got, want)
	}
}
