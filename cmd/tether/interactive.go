package main

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/tetherws/tether"
)

// prompt is the interactive prompt.
const prompt = "> "

// commandList is printed by /help and after an unknown command.
const commandList = "commands: /ping [payload], /close [code] [reason], /binary HEX, /quit, /help; //text sends /text"

// screen is the terminal's output. While the prompt is up, writes go
// through the term.Terminal, which clears the input line, prints above it
// and redraws it; after finish, straight to the terminal.
type screen struct {
	mu   sync.Mutex
	t    *term.Terminal
	out  io.Writer
	gate *gate // the term.Terminal's own output
	done bool
}

// newScreen returns the screen of a prompt read from in and shown on out.
func newScreen(in io.Reader, out io.Writer) *screen {
	g := &gate{w: out}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, g}, prompt)
	return &screen{t: t, out: out, gate: g}
}

// gate passes the term.Terminal's writes on until it is shut. The
// terminal also writes on its own, from the goroutine in ReadLine (the
// prompt, redrawn when a new line is read); once the screen is finished
// those writes would put a prompt back above what follows.
type gate struct {
	mu   sync.Mutex
	w    io.Writer
	shut bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut {
		return len(p), nil
	}
	return g.w.Write(p)
}

// close shuts the gate after writing p.
func (g *gate) close(p string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = true
	_, _ = io.WriteString(g.w, p)
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		return s.t.Write(p)
	}
	// Raw mode: a newline must return the carriage too.
	if _, err := s.out.Write(crlf(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// finish ends the prompt. When the user ended the input, the line they
// left stays visible and output continues below it; when the connection
// ended under them, the prompt and any half-typed line are erased.
func (s *screen) finish(erase bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	if erase {
		s.gate.close("\r\x1b[K")
	} else {
		s.gate.close("\r\n")
	}
}

// crlf turns "\n" into "\r\n".
func crlf(p []byte) []byte {
	return []byte(strings.ReplaceAll(string(p), "\n", "\r\n"))
}

// interactive runs a session on a terminal: in and out are its input and
// output, rep already prints to out.
func (s *session) interactive(ctx context.Context, in, out *os.File) int {
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		s.rep.notice("cannot use the terminal: %v", err)
		_ = s.conn.Close(tether.CloseNormal, "")
		return s.end()
	}
	defer func() { _ = term.Restore(int(in.Fd()), state) }()

	scr := newScreen(in, out)
	t := scr.t
	if s.cfg.json {
		s.rep = newJSONReporter(scr)
	} else {
		s.rep = &textReporter{msgs: scr, info: scr, interactive: true}
	}
	resized := watchSize(out, t)
	defer resized()

	go s.receive()
	lines := make(chan string)
	quit := make(chan struct{})
	defer close(quit) // the reader may still wait for a key: stop it
	go readTerminal(t, lines, quit)
	tick, stop := s.ticker()
	defer stop()

	for {
		select {
		case line, ok := <-lines:
			if !ok { // Ctrl-D on an empty line, or Ctrl-C
				scr.finish(false)
				_ = s.conn.Close(tether.CloseNormal, "")
				return s.end()
			}
			if s.command(line) {
				scr.finish(false)
				return s.end()
			}
		case <-tick:
			s.ping(nil, true)
		case <-ctx.Done():
			scr.finish(false)
			_ = s.conn.Close(tether.CloseNormal, "")
			return s.end()
		case <-s.received:
			scr.finish(true)
			return s.end()
		}
	}
}

// readTerminal sends the lines read on t, and closes lines at Ctrl-D,
// Ctrl-C or the end of input.
func readTerminal(t *term.Terminal, lines chan<- string, quit <-chan struct{}) {
	for {
		line, err := t.ReadLine()
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			close(lines)
			return
		}
		select {
		case lines <- line:
		case <-quit:
			return
		}
	}
}

// command sends a line or runs its command. It returns true once the
// connection is closing.
func (s *session) command(line string) bool {
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		s.send([]byte(strings.TrimPrefix(line, "/")), s.cfg.binary)
		return false
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/ping":
		var payload []byte
		if arg != "" {
			payload = []byte(arg)
		}
		s.ping(payload, false)
	case "/binary":
		b, err := hex.DecodeString(strings.Join(strings.Fields(arg), ""))
		if err != nil {
			s.rep.notice("/binary: %v", err)
			return false
		}
		s.send(b, true)
	case "/close":
		return s.closeCommand(arg)
	case "/quit":
		_ = s.conn.Close(tether.CloseNormal, "")
		return true
	case "/help":
		s.rep.notice("%s", commandList)
	default:
		s.rep.notice("unknown command %s (%s)", cmd, commandList)
	}
	return false
}

// closeCommand runs /close [code] [reason].
func (s *session) closeCommand(arg string) bool {
	code, reason := tether.CloseNormal, ""
	if arg != "" {
		c, rest, _ := strings.Cut(arg, " ")
		n, err := strconv.ParseUint(c, 10, 16)
		if err != nil {
			s.rep.notice("/close: bad code %q", c)
			return false
		}
		code, reason = tether.CloseCode(n), strings.TrimSpace(rest)
	}
	if err := (tether.CloseFrame{Code: code, Reason: reason}).Check(); err != nil {
		s.rep.notice("/close: %v", err)
		return false
	}
	s.closeAsked = code
	_ = s.conn.Close(code, reason)
	return true
}

// sizeTerminal gives t the size of the terminal out.
func sizeTerminal(out *os.File, t *term.Terminal) {
	if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 {
		_ = t.SetSize(w, h)
	}
}
