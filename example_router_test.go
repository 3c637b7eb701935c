package tether_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetherws/tether"
)

// firstMessage dials url with o and returns the first message's text, or
// the error (for a rejected handshake, its status and body).
func firstMessage(url string, o *tether.DialOptions) string {
	c, _, err := tether.Dial(context.Background(), url, o)
	if err != nil {
		var se *tether.StatusError
		if errors.As(err, &se) {
			return fmt.Sprintf("HTTP %d: %s", se.StatusCode(), strings.TrimSpace(string(se.Body)))
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
	var rt tether.Router
	rt.Handle("/rooms/{room}", func(ctx context.Context, c *tether.Conn) error {
		return c.SendText(ctx, "welcome to "+c.Request().PathValue("room"))
	})
	url, stop := listen(&tether.Server{
		Handler: rt.Serve,
		Options: tether.ServerOptions{ProcessRequest: rt.ProcessRequest},
	})
	defer stop()

	fmt.Println(firstMessage(url+"rooms/gophers", nil))
	fmt.Println(firstMessage(url+"nowhere", nil))
	// Output:
	// welcome to gophers
	// HTTP 404: Not Found
}
