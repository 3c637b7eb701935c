package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/tetherws/tether/ws"
)

// oneConnListener is a net.Listener that accepts one connection, then
// waits until that connection or the listener is closed.
type oneConnListener struct {
	conn   net.Conn
	once   sync.Once
	closed chan struct{}
	mu     sync.Mutex
	given  bool
}

func newOneConnListener(c net.Conn) *oneConnListener {
	l := &oneConnListener{closed: make(chan struct{})}
	l.conn = &notifyClose{Conn: c, l: l}
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if !l.given {
		l.given = true
		l.mu.Unlock()
		return l.conn, nil
	}
	l.mu.Unlock()
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

// notifyClose closes its listener when it is closed.
type notifyClose struct {
	net.Conn
	l *oneConnListener
}

func (c *notifyClose) Close() error {
	err := c.Conn.Close()
	c.l.Close()
	return err
}

// tunnelServer serves HTTP, with the protocols p, over the net.Conn
// adapter of every WebSocket connection it accepts; the handler echoes
// the request body's SHA-256 and the protocol.
func tunnelServer(t *testing.T, p *http.Protocols) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.Proto)
	})
	mux.HandleFunc("/sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
	})
	return startServer(t, &Server{Handler: func(ctx context.Context, c *Conn) error {
		hs := &http.Server{Handler: mux, Protocols: p}
		err := hs.Serve(newOneConnListener(NewNetConn(ctx, c, ws.OpBinary)))
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	}})
}

// net/http runs over the adapter on both sides, as HTTP/1.1 and as
// HTTP/2 (prior knowledge, unencrypted): a GET and a 3 MiB POST.
func TestNetConnCarriesHTTP(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			p := new(http.Protocols)
			if proto == "HTTP/1.1" {
				p.SetHTTP1(true)
			} else {
				p.SetUnencryptedHTTP2(true)
			}
			url := tunnelServer(t, p)
			tr := &http.Transport{
				Protocols: p,
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, _, err := Dial(ctx, url, nil)
					if err != nil {
						return nil, err
					}
					return NewNetConn(context.Background(), c, ws.OpBinary), nil
				},
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

			resp, err := client.Get("http://tunnel/hello")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := "hello over " + proto; string(body) != want || resp.Proto != proto {
				t.Fatalf("GET: %s %q, want %q", resp.Proto, body, want)
			}

			data := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
			resp, err = client.Post("http://tunnel/sum", "application/octet-stream", bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			sum := sha256.Sum256(data)
			if want := fmt.Sprintf("%d %s", len(data), hex.EncodeToString(sum[:])); string(body) != want {
				t.Fatalf("POST: %q, want %q", body, want)
			}
		})
	}
}

// The adapter passes the net.Conn conformance tests of
// golang.org/x/net/nettest: data in order, deadlines in the past, present
// and future, Close unblocking pending calls, concurrent methods.
func TestNetConnConformance(t *testing.T) {
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler})
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client, _, err := Dial(ctx, url, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		var server *Conn
		select {
		case server = <-sink:
		case <-ctx.Done():
			client.CloseNow()
			return nil, nil, nil, ctx.Err()
		}
		c1 = NewNetConn(context.Background(), client, ws.OpBinary)
		c2 = NewNetConn(context.Background(), server, ws.OpBinary)
		stop = func() {
			client.CloseNow()
			server.CloseNow()
		}
		return c1, c2, stop, nil
	})
}

// A Read whose deadline passes returns a timeout and loses nothing: the
// data that arrives later is read in full once the deadline is moved.
func TestNetConnReadDeadlineLosesNothing(t *testing.T) {
	client, server := pair(t, nil, nil)
	a := NewNetConn(context.Background(), client, ws.OpBinary)
	b := NewNetConn(context.Background(), server, ws.OpBinary)
	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	buf := make([]byte, 64)
	n, err := a.Read(buf)
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %d, %v, want a timeout", n, err)
	}
	if _, err := b.Write([]byte("after the timeout")); err != nil {
		t.Fatal(err)
	}
	a.SetReadDeadline(time.Time{})
	if _, err := io.ReadFull(a, buf[:17]); err != nil || string(buf[:17]) != "after the timeout" {
		t.Fatalf("got %q, %v", buf[:17], err)
	}
	// A Write whose deadline has passed sends nothing.
	b.SetWriteDeadline(time.Now().Add(-time.Second))
	if n, err := b.Write([]byte("x")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past its deadline: %d, %v", n, err)
	}
	b.Close()
	if _, err := a.Read(buf); err != io.EOF {
		t.Fatalf("Read after the peer closed: %v, want io.EOF", err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}
}

// A text stream: Writes that cut UTF-8 sequences still make valid text
// messages, and the stream arrives whole.
func TestNetConnTextStream(t *testing.T) {
	client, server := pair(t, nil, nil)
	a := NewNetConn(context.Background(), client, ws.OpText)
	b := NewNetConn(context.Background(), server, ws.OpText)
	text := strings.Repeat("héllo wörld €𝄞 ", 500)
	go func() {
		for i := 0; i < len(text); i += 5 { // cuts sequences
			if _, err := b.Write([]byte(text[i:min(i+5, len(text))])); err != nil {
				t.Error(err)
				return
			}
		}
		b.Close()
	}()
	got, err := io.ReadAll(a)
	if err != nil || string(got) != text {
		t.Fatalf("read %d bytes, %v; want the %d of the text", len(got), err, len(text))
	}
}

// A message of the other type fails the connection with 1003.
func TestNetConnRefusesTheOtherType(t *testing.T) {
	c, p := dialRaw(t, nil)
	a := NewNetConn(context.Background(), c, ws.OpBinary)
	p.send(true, ws.OpText, []byte("text"))
	go func() {
		p.expectClose(ws.CloseUnsupportedData, "unexpected text message")
		p.send(true, ws.OpClose, closePayload(ws.CloseUnsupportedData, ""))
		p.close()
	}()
	if _, err := a.Read(make([]byte, 10)); err == nil {
		t.Fatal("Read of a text message on a binary stream succeeded")
	}
	<-c.Done()
}
