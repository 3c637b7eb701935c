package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// serveExample starts srv on loopback and returns its host:port and a
// function that shuts it down and waits for Serve to return.
func serveExample(srv *runtime.Server) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	return ln.Addr().String(), func() { _ = srv.Shutdown(context.Background()); <-done }
}

// firstMessage dials url with o and returns the first message's text, or
// the error.
func firstMessage(url string, o *runtime.DialOptions) string {
	ctx := context.Background()
	c, _, err := runtime.Dial(ctx, url, o)
	if err != nil {
		var se *ws.StatusError
		if errors.As(err, &se) {
			return fmt.Sprintf("HTTP %d: %s", se.StatusCode(), se.Body)
		}
		return err.Error()
	}
	defer c.CloseNow()
	m := <-c.Messages()
	return m.Text()
}

// A Router dispatches connections by path with http.ServeMux patterns;
// path parameters come from c.Request().PathValue. Its ProcessRequest
// answers unknown paths with 404 before the handshake.
func ExampleRouter() {
	var rt runtime.Router
	rt.Handle("/rooms/{room}", func(ctx context.Context, c *runtime.Conn) error {
		return c.SendText(ctx, "welcome to "+c.Request().PathValue("room"))
	})
	addr, stop := serveExample(&runtime.Server{
		Handler: rt.Serve,
		Options: runtime.ServerOptions{ProcessRequest: rt.ProcessRequest},
	})
	defer stop()

	fmt.Println(firstMessage("ws://"+addr+"/rooms/gophers", nil))
	fmt.Print(firstMessage("ws://"+addr+"/nowhere", nil))
	// Output:
	// welcome to gophers
	// HTTP 404: Not Found
}
