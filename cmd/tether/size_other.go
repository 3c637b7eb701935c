//go:build !unix

package main

import (
	"os"

	"golang.org/x/term"
)

// watchSize sizes t like the terminal out once: this platform has no
// signal for a changed window.
func watchSize(out *os.File, t *term.Terminal) func() {
	sizeTerminal(out, t)
	return func() {}
}
