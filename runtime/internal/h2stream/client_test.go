package h2stream

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// TestClientDeadlines: a deadline on the client's stream fails the waiting
// Read or Write with os.ErrDeadlineExceeded; clearing it lets the next
// call wait again.
func TestClientDeadlines(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := NewClient(a, ws.Limits{})
	defer c.Close()
	c.sendConn = 0 // no send window: Write waits
	if err := c.SetDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: %v, want os.ErrDeadlineExceeded", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		read <- err
	}()
	c.mu.Lock()
	c.eof = true
	c.cond.Broadcast()
	c.mu.Unlock()
	if err := <-read; err != io.EOF {
		t.Fatalf("Read after clearing the deadline: %v, want io.EOF", err)
	}
}
