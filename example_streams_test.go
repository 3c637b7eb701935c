package tether_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/tetherws/tether"
)

// NextReader hands over the next message as an io.Reader while its frames
// arrive, so a large message streams through a few small buffers; it
// shares one ordered stream with Messages.
func ExampleConn_NextReader() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		c.SendText(ctx, "header")
		w, err := c.NewBufferedWriter(ctx, tether.OpBinary, 0, tether.SendOptions{})
		if err != nil {
			return err
		}
		io.Copy(w, io.LimitReader(zeros{}, 8<<20)) // 8 MiB
		if err := w.Close(); err != nil {
			return err
		}
		return c.SendText(ctx, "trailer")
	}})
	defer stop()

	ctx := context.Background()
	conn, _, err := tether.Dial(ctx, url, &tether.DialOptions{Options: tether.Options{MaxMessageSize: -1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.CloseNow()
	fmt.Println((<-conn.Messages()).Text())
	r, err := conn.NextReader(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	fmt.Printf("%v message: %d bytes, sha256 %x…, %v\n", r.Type(), n, h.Sum(nil)[:4], err)
	fmt.Println((<-conn.Messages()).Text())
	// Output:
	// header
	// BINARY message: 8388608 bytes, sha256 2daeb1f3…, <nil>
	// trailer
}

// zeros reads zero bytes forever.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A BufferedWriter sends one message from a loop of small writes or an
// io.Copy, framed every 64 KiB (or the size given) instead of per write.
func ExampleConn_NewBufferedWriter() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		for m := range c.Messages() {
			c.SendText(ctx, fmt.Sprintf("got %d bytes of %v", len(m.Data), m.Type))
		}
		return nil
	}})
	defer stop()

	ctx := context.Background()
	conn, _, err := tether.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.CloseNow()
	w, err := conn.NewBufferedWriter(ctx, tether.OpText, 0, tether.SendOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range 1000 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println((<-conn.Messages()).Text())
	// Output:
	// got 8890 bytes of TEXT
}

// NewNetConn turns a connection into a net.Conn, so that another
// protocol runs over a WebSocket: here net/http, server and client.
func ExampleNewNetConn() {
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s over a WebSocket", r.URL.Path)
	})
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		// One HTTP connection per WebSocket: serve until the client closes.
		return http.Serve(&oneListener{c: tether.NewNetConn(ctx, c, tether.OpBinary)}, web)
	}})
	defer stop()

	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, _, err := tether.Dial(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		return tether.NewNetConn(context.Background(), c, tether.OpBinary), nil
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://tunnel/page")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, strings.TrimSpace(string(body)))
	// Output:
	// 200 OK hello from /page over a WebSocket
}

// oneListener is a net.Listener that accepts c once, then reports that it
// is closed once c is.
type oneListener struct {
	c    net.Conn
	done chan struct{}
}

func (l *oneListener) Accept() (net.Conn, error) {
	if l.done == nil {
		l.done = make(chan struct{})
		return closeNotifier{l.c, l.done}, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneListener) Close() error   { return nil }
func (l *oneListener) Addr() net.Addr { return l.c.LocalAddr() }

type closeNotifier struct {
	net.Conn
	done chan struct{}
}

func (c closeNotifier) Close() error {
	defer close(c.done)
	return c.Conn.Close()
}
