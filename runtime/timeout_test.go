package runtime

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// readAll reads nc until EOF or an error and returns what it read.
func readAll(nc net.Conn) ([]byte, error) {
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(nc)
	if err != nil && !isReset(err) {
		return b, err
	}
	return b, nil
}

// isReset reports a connection reset (an aborted socket).
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

func TestServerOpenTimeoutDisconnectsASilentClient(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{Options: Options{OpenTimeout: 100 * time.Millisecond}}})
	nc, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, err := readAll(nc)
	if err != nil {
		t.Fatalf("silent client: %v (the server did not disconnect it)", err)
	}
	if len(b) != 0 {
		t.Fatalf("silent client got %q", b)
	}
}

func TestServerOpenTimeoutDisconnectsASlowlorisClient(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{Options: Options{OpenTimeout: 100 * time.Millisecond}}})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"X-Padding: " + strings.Repeat("p", 200) + "\r\n\r\n"
	ended := make(chan []byte, 1)
	go func() {
		b, _ := readAll(nc)
		ended <- b
	}()
	// One byte every 5 ms: the whole request would take over a second.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for sent < len(req) {
		select {
		case b := <-ended:
			if len(b) != 0 {
				t.Fatalf("slowloris client got %q", b)
			}
			return // disconnected before the request was complete
		case <-tick.C:
			if _, err := nc.Write([]byte{req[sent]}); err != nil {
				<-ended
				return
			}
			sent++
		}
	}
	t.Fatalf("the server read the whole request (%d bytes) one byte at a time", sent)
}

func TestDialOpenTimeoutAgainstAServerThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
		close(accepted)
	}()
	start := time.Now()
	_, _, err = Dial(context.Background(), "ws://"+ln.Addr().String()+"/", &DialOptions{Options: Options{OpenTimeout: 100 * time.Millisecond}})
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("Dial error = %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), "timed out during opening handshake") {
		t.Errorf("Dial error = %q, want it to say it timed out during the opening handshake", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial took %v", d)
	}
	if nc := <-accepted; nc != nil {
		// The client gave up: the server side sees the connection end.
		if _, err := readAll(nc); err != nil {
			t.Errorf("server side: %v", err)
		}
		nc.Close()
	}
}

func TestDialContextCancelAbortsTheHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		buf := make([]byte, 1)
		_, _ = nc.Read(buf) // the request has started: give up waiting
		cancel()
		_, _ = readAll(nc)
	}()
	_, _, err = Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err == nil {
		t.Fatal("Dial succeeded")
	}
}
