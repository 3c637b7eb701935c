package proxy

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/tetherws/tether/ws"
)

// drip writes s to c one byte per write, then closes c.
func drip(c net.Conn, s string) {
	defer c.Close()
	for i := range len(s) {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
	}
}

// A proxy that sends its reply one byte per write, with the first bytes of
// the tunnel in the same stream, still gives one reply and every byte after
// it.
func TestReplyDrippedOneBytePerWrite(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	reply := "HTTP/1.1 200 Connection established\r\nVia: 1.1 " + strings.Repeat("v", 2000) + "\r\n\r\n"
	go drip(b, reply+"tunnel")
	resp, rest, err := readReply(a, ws.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || len(resp.Header.Get("Via")) != 2004 {
		t.Fatalf("status %d, Via of %d bytes", resp.StatusCode, len(resp.Header.Get("Via")))
	}
	got := string(rest)
	for len(got) < len("tunnel") {
		buf := make([]byte, 16)
		n, err := a.Read(buf)
		got += string(buf[:n])
		if err != nil {
			break
		}
	}
	if got != "tunnel" {
		t.Fatalf("bytes after the reply %q, want %q", got, "tunnel")
	}
}

// A reply head that never ends is refused at the head limit, however it is
// chopped, rather than read forever.
func TestEndlessReplyHeadStopsAtTheLimit(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	lim := ws.Limits{MaxLineLength: 100, MaxHeaders: 10}
	var head strings.Builder
	head.WriteString("HTTP/1.1 200 OK\r\n")
	for range 1000 {
		head.WriteString("X-A: b\r\n")
	}
	go drip(b, head.String())
	_, _, err := readReply(a, lim)
	if !errors.Is(err, ws.ErrSecurityLimit) {
		t.Fatalf("err = %v, want ws.ErrSecurityLimit", err)
	}
}
