package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startEcho serves an echo server until the test ends and returns its URL.
func startEcho(t *testing.T, h tether.Handler) (*tether.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &tether.Server{Handler: h}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, tether.ErrServerClosed) {
			t.Error(err)
		}
	})
	return srv, "ws://" + ln.Addr().String() + "/"
}

func echo(ctx context.Context, c *tether.Conn) error {
	for m := range c.Messages() {
		if err := c.Send(ctx, m.Type, m.Data); err != nil {
			return nil
		}
	}
	return nil
}

// runLines runs the client and returns its output, one line at a time,
// and its result once the output ends.
func runLines(ctx context.Context, url string) (<-chan string, <-chan error) {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, url, 5*time.Millisecond, pw)
		pw.Close()
		errc <- err
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return lines, errc
}

func TestTicksAreEchoedThenCtrlCClosesCleanly(t *testing.T) {
	_, url := startEcho(t, echo)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	lines, errc := runLines(ctx, url)
	var out []string
	for line := range lines {
		out = append(out, line)
		if strings.HasPrefix(line, "< tick 2 ") {
			stop() // what Ctrl-C does
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("run = %v, want nil; output:\n%s", err, strings.Join(out, "\n"))
	}
	got := strings.Join(out, "\n")
	for _, want := range []string{"connected to " + url, "> tick 1 at ", "< tick 1 at ", "closed: clean close (sent 1000 (OK) bye; then received 1000 (OK) bye)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestServerClosingEndsTheLoop(t *testing.T) {
	_, url := startEcho(t, func(ctx context.Context, c *tether.Conn) error {
		<-c.Messages() // the first tick
		return c.Close(tether.CloseTryAgainLater, "busy")
	})
	lines, errc := runLines(context.Background(), url)
	var last string
	for line := range lines {
		last = line
	}
	err := <-errc
	var ce *tether.CloseError
	if !errors.As(err, &ce) || ce.Code() != tether.CloseTryAgainLater || ce.Reason() != "busy" {
		t.Fatalf("run = %v, want a close error with 1013 busy", err)
	}
	if !errors.Is(err, tether.ErrClosed) {
		t.Fatalf("%v does not match tether.ErrClosed", err)
	}
	if !strings.HasPrefix(last, "connection ended: error: received 1013") {
		t.Fatalf("last line %q", last)
	}
}

func TestDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := run(context.Background(), "ws://"+addr+"/", time.Second, io.Discard); err == nil {
		t.Fatal("run succeeded without a server")
	}
}
