//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/tetherws/tether"
)

// ttyRun is tether connect running in a process of its own on a pseudo-
// terminal, as a user at a terminal runs it.
type ttyRun struct {
	ptm    *os.File
	out    *output // everything written to the terminal
	status chan int
	copied chan struct{}
}

// startTTY starts tether connect args on a new pseudo-terminal of 200
// columns: the test binary itself, running main (see TestMain).
func startTTY(t *testing.T, args ...string) *ttyRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"connect"}, args...)...)
	cmd.Env = append(os.Environ(), "TETHER_TEST_MAIN=1")
	ptm, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	r := &ttyRun{ptm: ptm, out: newOutput(), status: make(chan int, 1), copied: make(chan struct{})}
	go func() {
		defer close(r.copied)
		_, _ = io.Copy(r.out, ptm) // ends with EIO once the process has exited
	}()
	go func() {
		err := cmd.Wait()
		code := 0
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		r.status <- code
	}()
	t.Cleanup(func() {
		select {
		case <-r.copied:
		default:
			_ = cmd.Process.Kill()
			<-r.copied
		}
		_ = ptm.Close()
	})
	return r
}

// typeKeys writes keys to the terminal, as typed.
func (r *ttyRun) typeKeys(t *testing.T, keys string) {
	t.Helper()
	if _, err := io.WriteString(r.ptm, keys); err != nil {
		t.Fatal(err)
	}
}

// display is the terminal's content and cursor.
type display struct {
	lines    []string
	row, col int
}

// last returns the last line that is not empty.
func (s display) last() string {
	for i := len(s.lines) - 1; i >= 0; i-- {
		if s.lines[i] != "" {
			return s.lines[i]
		}
	}
	return ""
}

// lineAfter returns the line after the first line equal to l, and whether
// there is one.
func (s display) lineAfter(l string) (string, bool) {
	i := slices.Index(s.lines, l)
	if i < 0 || i+1 >= len(s.lines) {
		return "", false
	}
	return s.lines[i+1], true
}

func (s display) String() string {
	return strings.Join(s.lines, "\n")
}

// waitScreen waits until ok holds for the rendered terminal.
func (r *ttyRun) waitScreen(t *testing.T, what string, ok func(s display) bool) display {
	t.Helper()
	var s display
	r.out.waitUntil(t, what, func(out string) bool {
		s.lines, s.row, s.col = render(out)
		return ok(s)
	})
	return s
}

// waitLast waits until the last line of the display is l.
func (r *ttyRun) waitLast(t *testing.T, l string) display {
	t.Helper()
	return r.waitScreen(t, "last line "+l, func(s display) bool { return s.last() == l })
}

// waitLine waits until a line of the display is l.
func (r *ttyRun) waitLine(t *testing.T, l string) display {
	t.Helper()
	return r.waitScreen(t, "line "+l, func(s display) bool { return slices.Contains(s.lines, l) })
}

// wait waits for the exit status and the last output.
func (r *ttyRun) wait(t *testing.T) (int, display) {
	t.Helper()
	select {
	case code := <-r.status:
		<-r.copied
		var s display
		s.lines, s.row, s.col = render(r.out.String())
		return code, s
	case <-time.After(waitLimit):
		t.Fatalf("tether connect did not exit; terminal:\n%s", r.out.String())
		return -1, display{}
	}
}

// peer is the server side of the interactive tests: it echoes, reports
// each text message on got, sends what is put on push, closes with
// 1011 "oops" on the message "fail", and reports the close frame it
// received on closed.
type peer struct {
	url    string
	got    chan string
	push   chan string
	closed chan *tether.CloseFrame
}

func newPeer(t *testing.T) *peer {
	p := &peer{got: make(chan string, 100), push: make(chan string), closed: make(chan *tether.CloseFrame, 1)}
	p.url = startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		defer func() { p.closed <- c.CloseStatus().Rcvd }()
		for {
			select {
			case m, ok := <-c.Messages():
				if !ok {
					return nil
				}
				if m.IsText() {
					p.got <- m.Text()
					if m.Text() == "fail" {
						_ = c.Close(tether.CloseInternalError, "oops")
						for range c.Messages() {
						}
						return nil
					}
				}
				_ = c.SendMessage(ctx, m)
			case s := <-p.push:
				_ = c.SendText(ctx, s)
			}
		}
	})
	return p
}

func (p *peer) receive(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-p.got:
		if got != want {
			t.Fatalf("server received %q, want %q", got, want)
		}
	case <-time.After(waitLimit):
		t.Fatalf("server did not receive %q", want)
	}
}

func (p *peer) closedWith(t *testing.T, code tether.CloseCode, reason string) {
	t.Helper()
	f := recvClose(t, p.closed)
	if f == nil || f.Code != code || f.Reason != reason {
		t.Fatalf("server received close %v, want %d %q", f, code, reason)
	}
}

func TestInteractiveKeepsTheInputLineWhileMessagesArrive(t *testing.T) {
	p := newPeer(t)
	r := startTTY(t, p.url)
	r.waitLine(t, "Connected to "+p.url+".")
	r.waitLast(t, ">")

	r.typeKeys(t, "half-typed")
	r.waitLast(t, "> half-typed")
	p.push <- "news flash"
	// The message appears first, then the input line is redrawn below it.
	s := r.waitScreen(t, "the input line redrawn below the message", func(s display) bool {
		next, _ := s.lineAfter("< news flash")
		return next == "> half-typed" && s.last() == "> half-typed"
	})
	if s.col != len("> half-typed") || s.lines[s.row] != "> half-typed" {
		t.Fatalf("cursor at row %d col %d, want at the end of the input line:\n%s", s.row, s.col, s)
	}
	for _, l := range s.lines {
		if strings.Contains(l, "half-typed") && l != "> half-typed" {
			t.Fatalf("the message was printed into the input line %q:\n%s", l, s)
		}
	}

	r.typeKeys(t, " line\r")
	p.receive(t, "half-typed line")
	r.waitLine(t, "< half-typed line")

	r.typeKeys(t, "\x04") // Ctrl-D on an empty line
	code, s := r.wait(t)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, s)
	}
	p.closedWith(t, tether.CloseNormal, "")
	if s.last() != "Connection closed: 1000 (OK)." {
		t.Fatalf("last line %q:\n%s", s.last(), s)
	}
}

func TestInteractiveHistory(t *testing.T) {
	p := newPeer(t)
	r := startTTY(t, p.url)
	r.waitLast(t, ">")
	r.typeKeys(t, "first\r")
	p.receive(t, "first")
	r.typeKeys(t, "second\r")
	p.receive(t, "second")
	r.waitLine(t, "< second")

	r.typeKeys(t, "\x1b[A") // up: the last line
	r.waitLast(t, "> second")
	r.typeKeys(t, "\x1b[A") // up again: the one before
	r.waitLast(t, "> first")
	r.typeKeys(t, " again\r")
	p.receive(t, "first again")

	r.typeKeys(t, "/quit\r")
	if code, s := r.wait(t); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, s)
	}
	p.closedWith(t, tether.CloseNormal, "")
}

func TestInteractiveCtrlCClosesWith1000(t *testing.T) {
	p := newPeer(t)
	r := startTTY(t, p.url)
	r.waitLast(t, ">")
	r.typeKeys(t, "partial")
	r.waitLast(t, "> partial")
	r.typeKeys(t, "\x03") // Ctrl-C
	code, s := r.wait(t)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, s)
	}
	p.closedWith(t, tether.CloseNormal, "")
	if next, ok := s.lineAfter("> partial"); !ok || next != "Connection closed: 1000 (OK)." {
		t.Fatalf("the close status is not on a line of its own after the input:\n%s", s)
	}
	select {
	case m := <-p.got:
		t.Fatalf("the abandoned line was sent: %q", m)
	default:
	}
}

func TestInteractiveCommands(t *testing.T) {
	p := newPeer(t)
	r := startTTY(t, p.url)
	r.waitLast(t, ">")

	r.typeKeys(t, "/ping abc\r")
	r.waitScreen(t, "a pong", func(s display) bool {
		return slices.ContainsFunc(s.lines, func(l string) bool { return strings.HasPrefix(l, "Pong received: RTT ") })
	})
	r.typeKeys(t, "/binary 00 01 ff\r")
	r.waitLine(t, "< (binary) 3 bytes: 0001ff")
	r.typeKeys(t, "//slash\r")
	p.receive(t, "/slash")
	r.waitLine(t, "< /slash")
	r.typeKeys(t, "/binary zz\r")
	r.waitScreen(t, "a /binary error", func(s display) bool {
		return slices.ContainsFunc(s.lines, func(l string) bool { return strings.HasPrefix(l, "/binary: encoding/hex") })
	})
	r.typeKeys(t, "/nope\r")
	r.waitLine(t, "unknown command /nope ("+commandList+")")
	r.typeKeys(t, "/help\r")
	r.waitLine(t, commandList)
	r.typeKeys(t, "/close 999\r")
	r.waitScreen(t, "a /close error", func(s display) bool {
		return slices.ContainsFunc(s.lines, func(l string) bool { return strings.HasPrefix(l, "/close: ") })
	})
	p.push <- "a\x1b[2Jb"
	r.waitLine(t, `< a\x1b[2Jb`)

	r.typeKeys(t, "/close 4000 bye\r")
	code, s := r.wait(t)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, s)
	}
	p.closedWith(t, 4000, "bye")
	if s.last() != "Connection closed: 4000 (private use) bye." {
		t.Fatalf("last line %q:\n%s", s.last(), s)
	}
}

func TestInteractiveServerCloseErasesThePrompt(t *testing.T) {
	p := newPeer(t)
	r := startTTY(t, p.url)
	r.waitLast(t, ">")
	r.typeKeys(t, "fail\r")
	code, s := r.wait(t)
	if code != exitFail {
		t.Fatalf("exit %d, want 1:\n%s", code, s)
	}
	if !slices.Contains(s.lines, "Connection closed: 1011 (internal error) oops.") {
		t.Fatalf("no close status:\n%s", s)
	}
	if !strings.HasPrefix(s.last(), "tether connect: received 1011 (internal error) oops") {
		t.Fatalf("last line %q:\n%s", s.last(), s)
	}
	for _, l := range s.lines {
		if l == ">" || l == "> " {
			t.Fatalf("a prompt is left on the display:\n%s", s)
		}
	}
}

// The terminal redraws its prompt whenever ReadLine begins, on the
// goroutine reading keys; once the screen is finished that prompt must not
// appear above the closing status.
func TestFinishedScreenDropsThePromptOfALateReadLine(t *testing.T) {
	var out bytes.Buffer
	scr := newScreen(strings.NewReader(""), &out)
	scr.finish(true)
	_, _ = scr.t.ReadLine() // as readTerminal does after the last line
	fmt.Fprintln(scr, "Connection closed: 1011 (internal error) oops.")
	want := "\r\x1b[KConnection closed: 1011 (internal error) oops.\r\n"
	if out.String() != want {
		t.Fatalf("terminal got %q, want %q", out.String(), want)
	}
}
