package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/auth"
	"github.com/tetherws/tether/ws"
)

// serveGreeter serves, behind hook, connections that greet their user by
// name. It returns the server's host:port and a function that shuts it
// down.
func serveGreeter(hook runtime.ProcessRequestFunc) (string, func()) {
	srv := &runtime.Server{
		Options: runtime.ServerOptions{ProcessRequest: hook},
		Handler: func(ctx context.Context, c *runtime.Conn) error {
			return c.SendText(ctx, "hello "+c.Username())
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	return ln.Addr().String(), func() { _ = srv.Shutdown(context.Background()); <-done }
}

// BasicAuth checks credentials before the handshake; the user name is then
// on the connection. A client puts credentials in the URL (percent-encoded)
// or in DialOptions.Auth; without them it gets the 401.
func ExampleBasicAuth() {
	a := &auth.BasicAuth{Realm: "chat", Credentials: map[string]string{"alice": "p@ss"}}
	addr, stop := serveGreeter(a.ProcessRequest)
	defer stop()
	ctx := context.Background()

	c, _, err := runtime.Dial(ctx, "ws://alice:p%40ss@"+addr+"/", nil)
	if err != nil {
		panic(err)
	}
	m := <-c.Messages()
	fmt.Println(m.Text())
	c.CloseNow()

	_, resp, err := runtime.Dial(ctx, "ws://"+addr+"/", nil)
	var se *ws.StatusError
	if errors.As(err, &se) {
		fmt.Printf("%d %s", resp.StatusCode, se.Body)
	}
	// Output:
	// hello alice
	// 401 Missing credentials
}

// DigestAuth never sees the password on the wire: the client answers the
// server's challenge with a hash (RFC 7616). DigestOnly keeps the client
// from sending Basic credentials first.
func ExampleDigestAuth() {
	a := &auth.DigestAuth{Realm: "chat", Credentials: map[string]string{"alice": "s3cret"}}
	addr, stop := serveGreeter(a.ProcessRequest)
	defer stop()

	creds := &runtime.Credentials{Username: "alice", Password: "s3cret", DigestOnly: true}
	c, resp, err := runtime.Dial(context.Background(), "ws://"+addr+"/", &runtime.DialOptions{Auth: creds})
	if err != nil {
		panic(err)
	}
	defer c.CloseNow()
	m := <-c.Messages()
	fmt.Println(m.Text())
	fmt.Println(resp.Request.Header.Get("Authorization")[:len("Digest username=")])
	// Output:
	// hello alice
	// Digest username=
}

// A Router answers unknown paths first, then BasicAuth checks the
// credentials of the rest.
func ExampleBasicAuth_withRouter() {
	var rt runtime.Router
	rt.Handle("/rooms/{room}", func(ctx context.Context, c *runtime.Conn) error {
		return c.SendText(ctx, c.Username()+" joined "+c.Request().PathValue("room"))
	})
	a := &auth.BasicAuth{Realm: "chat", Credentials: map[string]string{"alice": "p@ss"}}
	_ = &runtime.Server{
		Handler: rt.Serve,
		Options: runtime.ServerOptions{ProcessRequest: runtime.ChainProcessRequest(rt.ProcessRequest, a.ProcessRequest)},
	}
}
