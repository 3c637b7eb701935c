package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// listen starts srv on a loopback port and returns its ws:// URL and a
// function that shuts it down.
func listen(srv *runtime.Server) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(ln) }()
	return "ws://" + ln.Addr().String() + "/", func() { _ = srv.Shutdown(context.Background()) }
}

// A server is a Handler: range over the connection's messages and answer.
// Returning closes the connection with 1000. SendMessage echoes a received
// message without validating its text again.
func ExampleServer() {
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		for msg := range c.Messages() {
			if err := c.SendMessage(ctx, msg); err != nil {
				return err
			}
		}
		return nil
	}}
	url, stop := listen(srv)
	defer stop()

	ctx := context.Background()
	conn, _, err := runtime.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = conn.SendText(ctx, "hello")
	msg := <-conn.Messages()
	fmt.Println(msg.Text())
	_ = conn.Close(ws.CloseNormal, "")
	fmt.Println("clean close:", conn.Err() == nil)
	// Output:
	// hello
	// clean close: true
}

// A client ranges over Messages until the server closes the connection;
// Err then says whether the close was clean.
func ExampleDial() {
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		for _, s := range []string{"one", "two", "three"} {
			if err := c.SendText(ctx, s); err != nil {
				return err
			}
		}
		return nil // closes with 1000
	}}
	url, stop := listen(srv)
	defer stop()

	conn, _, err := runtime.Dial(context.Background(), url, nil)
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
func ExampleConn_Messages_selectLoop() {
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		for msg := range c.Messages() {
			_ = c.SendText(ctx, "echo: "+msg.Text())
		}
		return nil
	}}
	url, stop := listen(srv)
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, _, err := runtime.Dial(ctx, url, nil)
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
			_ = conn.Close(ws.CloseNormal, "bye")
		}
	}
	// Output:
	// echo: tick 1
	// echo: tick 2
	// closed: <nil>
}

// Ping measures the round trip; the peer answers automatically.
func ExampleConn_Ping() {
	url, stop := listen(&runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		<-ctx.Done()
		return nil
	}})
	defer stop()

	ctx := context.Background()
	conn, _, err := runtime.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close(ws.CloseNormal, "")
	rtt, err := conn.Ping(ctx, nil)
	fmt.Println(err == nil, rtt > 0)
	// Output: true true
}

// Accept mounts WebSocket endpoints on any net/http mux.
func ExampleAccept() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chat/{room}", func(w http.ResponseWriter, r *http.Request) {
		conn, err := runtime.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered with the right status
		}
		defer conn.Close(ws.CloseNormal, "")
		_ = conn.SendText(r.Context(), "welcome to "+r.PathValue("room"))
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	conn, _, err := runtime.Dial(context.Background(), "ws://"+ln.Addr().String()+"/chat/go", nil)
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
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		for range c.Messages() {
		}
		return nil
	}}
	url, _ := listen(srv)
	conn, _, err := runtime.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = srv.Shutdown(context.Background())
	<-conn.Done()
	fmt.Println(conn.CloseStatus(), conn.Err() == nil)
	// Output: received 1001 (going away); then sent 1001 (going away) true
}

// Errors say how a connection ended: errors.As finds the close frames.
func ExampleConn_Err() {
	url, stop := listen(&runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		return errors.New("handler failed") // closes with 1011
	}})
	defer stop()
	conn, _, err := runtime.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-conn.Done()
	var ce *ws.CloseError
	if errors.As(conn.Err(), &ce) {
		fmt.Println(ce.Code(), errors.Is(conn.Err(), ws.ErrClosed))
	}
	// Output: 1011 (internal error) true
}
