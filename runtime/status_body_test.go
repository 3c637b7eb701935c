package runtime

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tetherws/tether/runtime/proxy"
	"github.com/tetherws/tether/ws"
)

// answeringServer answers every request with the raw response resp and
// closes the connection; it returns its ws:// URL.
func answeringServer(t *testing.T, resp string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
				_, _ = io.WriteString(nc, resp)
			}
			nc.Close()
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

// A refusal whose body is over Limits.MaxBodySize keeps the body's first
// MaxBodySize bytes and says that it was cut.
func TestStatusErrorKeepsTheStartOfALongBody(t *testing.T) {
	long := "0123456789abcdefghij"
	for _, tc := range []struct {
		name, resp, body string
		truncated        bool
	}{
		{"content-length over the limit", "HTTP/1.1 403 Forbidden\r\nContent-Length: 20\r\n\r\n" + long, "0123456789", true},
		{"until EOF over the limit", "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n" + long, "0123456789", true},
		{"within the limit", "HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nshort", "short", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := answeringServer(t, tc.resp)
			_, _, err := Dial(testCtx(t), url, &DialOptions{Proxy: proxy.Direct, Options: Options{Limits: ws.Limits{MaxBodySize: 10}}})
			var se *ws.StatusError
			if !errors.As(err, &se) || se.StatusCode() != http.StatusForbidden {
				t.Fatalf("Dial = %v, want a 403 StatusError", err)
			}
			if string(se.Body) != tc.body || se.Truncated != tc.truncated {
				t.Fatalf("Body %q, Truncated %v; want %q, %v", se.Body, se.Truncated, tc.body, tc.truncated)
			}
			if strings.Contains(err.Error(), "security limit") {
				t.Fatalf("the body's limit hides the refusal: %v", err)
			}
		})
	}
}
