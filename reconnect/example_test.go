package reconnect_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetherws/tether/reconnect"
	"github.com/tetherws/tether/runtime"
)

// newsServer serves a feed: after "subscribe news" it sends two items and
// closes the connection, as a server that restarts often would.
func newsServer() (url string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var conns atomic.Int32
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		n := conns.Add(1)
		for m := range c.Messages() {
			if m.Text() == "subscribe news" {
				for i := 1; i <= 2; i++ {
					if err := c.SendText(ctx, fmt.Sprintf("item %d (connection %d)", i, n)); err != nil {
						return err
					}
				}
				return nil // closes the connection
			}
		}
		return nil
	}}
	go srv.Serve(ln)
	return "ws://" + ln.Addr().String() + "/", func() { srv.Shutdown(context.Background()) }
}

// A bot that subscribes on every connection and reads one channel for its
// whole life, across reconnects.
func ExampleNew() {
	url, stop := newsServer()
	defer stop()

	sup, err := reconnect.New(context.Background(), url, &reconnect.Options{
		OnConnect: func(ctx context.Context, c *runtime.Conn) error {
			return c.SendText(ctx, "subscribe news")
		},
		// A short backoff for a local server; the default is Python's.
		Backoff: &reconnect.Exponential{Initial: 10 * time.Millisecond, Min: 10 * time.Millisecond, Max: time.Second, Factor: 2},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	for m := range sup.Messages() {
		fmt.Println(m.Text())
		if n++; n == 4 {
			break
		}
	}
	sup.Close()
	fmt.Println("stopped:", sup.Err())
	// Output:
	// item 1 (connection 1)
	// item 2 (connection 1)
	// item 1 (connection 2)
	// item 2 (connection 2)
	// stopped: <nil>
}

// The reconnect loop of Python websockets: one iteration per connection.
func ExampleConnections() {
	url, stop := newsServer()
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// This server drops every connection at once, so each counts as a
	// failed attempt: a short backoff for a local server.
	opts := &reconnect.Options{Backoff: reconnect.Constant(10 * time.Millisecond)}
	n := 0
	for conn, err := range reconnect.Connections(ctx, url, opts) {
		if err != nil {
			fmt.Println("fatal:", err)
			return
		}
		if err := conn.SendText(ctx, "subscribe news"); err != nil {
			continue // lost already: reconnect
		}
		for m := range conn.Messages() {
			fmt.Println(m.Text())
		}
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// item 1 (connection 1)
	// item 2 (connection 1)
	// item 1 (connection 2)
	// item 2 (connection 2)
}

// A fatal error, here HTTP 401, stops the supervisor with an error
// that says why.
func ExampleSupervisor_Err() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &runtime.Server{Options: runtime.ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*runtime.Response, error) {
			return &runtime.Response{Status: http.StatusUnauthorized}, nil
		},
	}}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	sup, _ := reconnect.New(context.Background(), "ws://"+ln.Addr().String()+"/", nil)
	for range sup.Messages() {
	}
	err := sup.Err()
	fmt.Println(strings.Replace(err.Error(), ln.Addr().String(), "host", 1))
	// Output:
	// reconnect: giving up on ws://host/: ws: server rejected WebSocket connection: HTTP 401
}

// The default backoff, with the random first delay pinned to its middle.
func ExampleNewBackoff() {
	b := reconnect.NewBackoff()
	b.Rand = func() float64 { return 0.5 }
	for range 11 {
		fmt.Print(b.Next().Round(time.Millisecond), " ")
	}
	fmt.Println()
	// Output:
	// 2.5s 3.1s 5.016s 8.116s 13.131s 21.246s 34.376s 55.62s 1m29.994s 1m30s 1m30s
}
