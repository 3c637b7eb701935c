package tether_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tetherws/tether"
)

// A client ranges over Messages until the server closes the connection;
// Err then says whether the close was clean.
func ExampleDial() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		for _, s := range []string{"one", "two", "three"} {
			if err := c.SendText(ctx, s); err != nil {
				return err
			}
		}
		return nil // closes with 1000
	}})
	defer stop()

	conn, _, err := tether.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for msg := range conn.Messages() {
		fmt.Println(msg.Text())
		msg.Release() // optional: recycle the buffer
	}
	fmt.Println("err:", conn.Err())
	fmt.Println(conn.CloseStatus())
	// Output:
	// one
	// two
	// three
	// err: <nil>
	// received 1000 (OK); then sent 1000 (OK)
}

// A select loop handles messages, a ticker and cancellation in one place.
// Messages is closed when the connection ends, however it ends.
func ExampleConn_Messages_selectLoop() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		for msg := range c.Messages() {
			_ = c.SendText(ctx, "echo: "+msg.Text())
		}
		return nil
	}})
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, _, err := tether.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	sent, received := 0, 0
	for {
		select {
		case msg, ok := <-conn.Messages():
			if !ok {
				fmt.Println("closed:", conn.Err())
				return
			}
			fmt.Println(msg.Text())
			if received++; received == 2 {
				cancel()
			}
		case <-tick.C:
			if sent < 2 {
				sent++
				_ = conn.SendText(ctx, fmt.Sprint("tick ", sent))
			}
		case <-ctx.Done():
			_ = conn.Close(tether.CloseNormal, "bye")
		}
	}
	// Output:
	// echo: tick 1
	// echo: tick 2
	// closed: <nil>
}

// Ping measures the round trip; the peer answers by itself.
func ExampleConn_Ping() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		<-ctx.Done()
		return nil
	}})
	defer stop()

	ctx := context.Background()
	conn, _, err := tether.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close(tether.CloseNormal, "")
	rtt, err := conn.Ping(ctx, nil)
	fmt.Println(err == nil, rtt > 0)
	// Output: true true
}

// Accept mounts WebSocket endpoints on any net/http mux.
func ExampleAccept() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chat/{room}", func(w http.ResponseWriter, r *http.Request) {
		conn, err := tether.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered with the right status
		}
		defer conn.Close(tether.CloseNormal, "")
		_ = conn.SendText(r.Context(), "welcome to "+r.PathValue("room"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	conn, _, err := tether.Dial(context.Background(), "ws://"+ln.Addr().String()+"/chat/go", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println((<-conn.Messages()).Text())
	<-conn.Done()
	// Output: welcome to go
}

// Shutdown closes every connection with 1001 and waits for the handlers.
func ExampleServer_Shutdown() {
	srv := &tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		for range c.Messages() {
		}
		return nil
	}}
	url, stop := listen(srv)
	defer stop()
	conn, _, err := tether.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = srv.Shutdown(context.Background())
	<-conn.Done()
	fmt.Println(conn.CloseStatus(), conn.Err() == nil)
	// Output: received 1001 (going away); then sent 1001 (going away) true
}

// Close sends a close frame with a code and a reason and waits for the
// closing handshake. Only 1000 and 1001 both ways make a clean close: with
// any other code, Err on both sides is a *CloseError that carries the
// frames sent and received.
func ExampleConn_Close() {
	ended := make(chan error, 1)
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		for range c.Messages() {
		}
		<-c.Done()
		ended <- c.Err()
		return nil
	}})
	defer stop()

	conn, _, err := tether.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := conn.Close(4001, "banned"); err != nil {
		fmt.Println(err)
		return
	}
	var ce *tether.CloseError
	if errors.As(conn.Err(), &ce) {
		fmt.Println("client sent:", ce.Sent, "| received:", ce.Rcvd)
	}
	if errors.As(<-ended, &ce) {
		fmt.Println("server code:", ce.Code(), "reason:", ce.Reason())
	}
	fmt.Println(errors.Is(conn.Err(), tether.ErrClosed))
	// Output:
	// client sent: 4001 (private use) banned | received: 4001 (private use) banned
	// server code: 4001 (private use) reason: banned
	// true
}

// A handler that returns an error closes its connection with 1011;
// errors.As finds the close frames in the client's Err.
func ExampleConn_Err() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		return errors.New("handler failed") // closes with 1011
	}})
	defer stop()
	conn, _, err := tether.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-conn.Done()
	var ce *tether.CloseError
	if errors.As(conn.Err(), &ce) {
		fmt.Println(ce.Code(), errors.Is(conn.Err(), tether.ErrClosed))
	}
	// Output: 1011 (internal error) true
}
