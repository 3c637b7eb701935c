//go:build linux

package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// readAll reads exactly n bytes from c.
func readAll(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewOnlyForSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if New(a) != nil {
		t.Fatal("raw I/O for a pipe")
	}
	c, _ := tcpPair(t)
	if New(c) == nil {
		t.Fatal("no raw I/O for a TCP connection")
	}
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if s, err := ln.Accept(); err == nil {
			_ = s.Close()
		}
	}()
	u, err := net.Dial("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if New(u) == nil {
		t.Fatal("no raw I/O for a Unix socket")
	}
}

func TestReadBorrowsABufferOnlyWithData(t *testing.T) {
	c, peer := tcpPair(t)
	r := New(c)
	if r.Held() != 0 {
		t.Fatalf("held %d before reading", r.Held())
	}
	if _, err := peer.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf, n, err := r.Read()
	if err != nil || string((*buf)[:n]) != "hello" || len(*buf) != ReadBufSize || r.Held() != 1 {
		t.Fatalf("Read: %q %v, held %d", (*buf)[:n], err, r.Held())
	}
	r.Done(buf) // kept for the next read
	if r.Held() != 1 {
		t.Fatalf("held %d after Done", r.Held())
	}
	// The next Read finds nothing at first: it hands the buffer back
	// while it waits.
	got := make(chan string, 1)
	go func() {
		b, n, err := r.Read()
		if err != nil {
			got <- err.Error()
			return
		}
		s := string((*b)[:n])
		r.Done(b)
		got <- s
	}()
	deadline := time.Now().Add(5 * time.Second)
	for r.Held() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a counter, not synchronising
	}
	if r.Held() != 0 {
		t.Fatal("a waiting Read holds a buffer")
	}
	if _, err := peer.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "again" {
		t.Fatalf("second Read: %q", s)
	}
	r.Close()
	if r.Held() != 0 {
		t.Fatalf("held %d after Close", r.Held())
	}
}

func TestReadAtTheEndOfTheStream(t *testing.T) {
	c, peer := tcpPair(t)
	r := New(c)
	_ = peer.Close()
	if _, _, err := r.Read(); err != io.EOF {
		t.Fatalf("Read at EOF: %v", err)
	}
	if n, err := r.ReadInto(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("ReadInto at EOF: %d %v", n, err)
	}
	if r.Held() != 0 {
		t.Fatalf("held %d after EOF", r.Held())
	}
}

func TestReadIntoFillsTheCallersBuffer(t *testing.T) {
	c, peer := tcpPair(t)
	r := New(c)
	if _, err := peer.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 4)
	got := []byte{}
	for len(got) < 10 {
		n, err := r.ReadInto(dst)
		if err != nil || n == 0 {
			t.Fatalf("ReadInto: %d %v", n, err)
		}
		got = append(got, dst[:n]...)
	}
	if string(got) != "0123456789" || r.Held() != 0 {
		t.Fatalf("got %q, held %d", got, r.Held())
	}
}

func TestTryWriteNeverWaits(t *testing.T) {
	c, peer := tcpPair(t)
	if err := c.SetWriteBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	r := New(c)
	if n, err := r.TryWrite([]byte("hi")); n != 2 || err != nil {
		t.Fatalf("TryWrite: %d %v", n, err)
	}
	if got := readAll(t, peer, 2); string(got) != "hi" {
		t.Fatalf("peer got %q", got)
	}
	// The peer does not read: the socket fills, the writes go partial,
	// then take nothing, and none of them waits or fails.
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	total := 0
	for range 1000 {
		n, err := r.TryWrite(chunk)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if n, err := r.TryWrite(chunk); n != 0 || err != nil {
		t.Fatalf("TryWrite on a full socket: %d %v", n, err)
	}
	if got := readAll(t, peer, total); !bytes.Equal(got, bytes.Repeat([]byte("x"), total)) {
		t.Fatal("the peer got other bytes")
	}
}

func TestTryWritevWritesHeaderThenPayload(t *testing.T) {
	c, peer := tcpPair(t)
	r := New(c)
	hdr := append(r.HeaderBuf(), 0x82, 0x05)
	if cap(hdr) < 14 {
		t.Fatalf("header buffer of %d bytes", cap(hdr))
	}
	if n, err := r.TryWritev(hdr, []byte("hello")); n != 7 || err != nil {
		t.Fatalf("TryWritev: %d %v", n, err)
	}
	if n, err := r.TryWritev(append(r.HeaderBuf(), 0x82, 0x00), nil); n != 2 || err != nil {
		t.Fatalf("TryWritev without payload: %d %v", n, err)
	}
	if got := readAll(t, peer, 9); string(got) != "\x82\x05hello\x82\x00" {
		t.Fatalf("peer got %q", got)
	}
}

func TestErrorsAreWordedAsNetConnWordsThem(t *testing.T) {
	c, peer := tcpPair(t)
	r := New(c)
	_ = peer.SetLinger(0)
	_ = peer.Close() // a reset
	var err error
	for range 100 {
		if _, err = r.TryWrite([]byte("x")); err != nil {
			break
		}
		time.Sleep(time.Millisecond) // the reset arrives
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Fatalf("write to a reset socket: %v", err)
	}
	_ = c.Close()
	_, _, err = r.Read()
	if !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read of a closed socket: %v", err)
	}
	if _, err := r.TryWritev([]byte{0x82, 0}, nil); !errors.As(err, &oe) || oe.Op != "write" || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("writev to a closed socket: %v", err)
	}
}
