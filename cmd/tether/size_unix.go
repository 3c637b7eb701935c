//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// watchSize sizes t like the terminal out, now and whenever the window
// changes (SIGWINCH); the function it returns stops watching.
func watchSize(out *os.File, t *term.Terminal) func() {
	sizeTerminal(out, t)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-ch:
				sizeTerminal(out, t)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-stopped
	}
}
