package rawio

import (
	"crypto/tls"
	"net"
	"runtime"
	"testing"
	"time"
)

// Unread sees the bytes a peer wrote that nobody has read yet, through
// TLS too, and nothing on a connection without a socket.
func TestUnreadCountsBytesWaitingInTheKernel(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("FIONREAD is read on Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if n := Unread(server); n != 0 {
		t.Fatalf("Unread = %d before anything was sent", n)
	}
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Over loopback the bytes are queued by the time Write returns; allow
	// a moment all the same, then they must all be counted.
	deadline := time.Now().Add(5 * time.Second)
	for Unread(server) < 5 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := Unread(server); n != 5 {
		t.Fatalf("Unread = %d, want 5", n)
	}
	if n := Unread(tls.Server(server, &tls.Config{})); n != 5 {
		t.Fatalf("Unread through TLS = %d, want 5", n)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if n := Unread(a); n != 0 {
		t.Fatalf("Unread of a pipe = %d", n)
	}
}
