package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tetherws/tether"
)

// killDelay is how long a program gets between SIGTERM and SIGKILL once
// its connection has ended.
const killDelay = time.Second

// execHandler is the handler of --exec: one run of command per
// connection, its output lines the messages to the client, the client's
// messages its input lines. The program's standard error goes to stderr.
func execHandler(command string, stderr io.Writer) tether.Handler {
	return func(ctx context.Context, c *tether.Conn) error {
		cmd := shellCommand(command)
		cmd.Env = append(os.Environ(),
			"TETHER_REMOTE_ADDR="+c.RemoteAddr().String(),
			"TETHER_REQUEST_URI="+c.Request().RequestURI,
			"TETHER_ORIGIN="+c.Request().Header.Get("Origin"),
		)
		cmd.Stderr = stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return fmt.Errorf("tether: --exec: %w", err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return fmt.Errorf("tether: --exec: %w", err)
		}
		if err := cmd.Start(); err != nil {
			c.Logger().Error("cannot start the program", "command", command, "err", err)
			_ = c.Close(tether.CloseInternalError, "cannot start the program")
			return nil
		}
		// The connection's end ends the program.
		waited := make(chan struct{})
		killed := make(chan struct{})
		stopKill := context.AfterFunc(ctx, func() {
			defer close(killed)
			terminate(cmd, waited)
		})

		var input sync.WaitGroup
		input.Go(func() { feed(c, stdin) })
		sendLines(ctx, c, stdout)
		// stdout is at its end: the program exited or closed it.
		werr := cmd.Wait()
		close(waited)
		ended := !stopKill() // the connection ended first
		if ended {
			<-killed
		} else {
			code, reason := tether.CloseNormal, ""
			if werr != nil {
				code, reason = tether.CloseInternalError, exitReason(werr)
			}
			_ = c.Close(code, reason)
		}
		input.Wait() // Messages is closed once the connection has ended
		return nil
	}
}

// feed writes the client's messages to the program's standard input, one
// per line, and closes it when the connection ends. Once the program no
// longer reads, messages are dropped until the end.
func feed(c *tether.Conn, stdin io.WriteCloser) {
	w := bufio.NewWriter(stdin)
	var err error
	for m := range c.Messages() {
		if err == nil {
			_, _ = w.Write(m.Data)
			_ = w.WriteByte('\n')
			if len(c.Messages()) == 0 {
				err = w.Flush()
			}
		}
		m.Release()
	}
	_ = w.Flush()
	_ = stdin.Close()
}

// sendLines sends each line of the program's output as a message: text
// when it is UTF-8, binary otherwise. It returns at the end of the
// output; once a send fails (the connection is ending) it reads on
// without sending, so that the program never blocks on a full pipe.
func sendLines(ctx context.Context, c *tether.Conn, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	sending := true
	for sc.Scan() {
		if !sending {
			continue
		}
		line := sc.Bytes()
		var err error
		if utf8.Valid(line) {
			err = c.Send(ctx, tether.OpText, line)
		} else {
			err = c.Send(ctx, tether.OpBinary, line)
		}
		sending = err == nil
	}
	if sc.Err() != nil {
		// A line too long: keep draining so that the program can exit.
		_, _ = io.Copy(io.Discard, stdout)
	}
}

// exitReason is the close reason for a program that failed.
func exitReason(err error) string {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		if code := ee.ExitCode(); code >= 0 {
			return fmt.Sprintf("exit status %d", code)
		}
		return ee.String() // "signal: killed"
	}
	return "program failed"
}

// terminate stops the program and its children: SIGTERM, then SIGKILL
// after killDelay, unless waited is closed first (the program has exited
// and was waited for).
func terminate(cmd *exec.Cmd, waited <-chan struct{}) {
	select {
	case <-waited:
		return
	default:
	}
	signalGroup(cmd, false)
	t := time.NewTimer(killDelay)
	defer t.Stop()
	select {
	case <-t.C:
		signalGroup(cmd, true)
	case <-waited:
	}
}
