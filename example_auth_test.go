package tether_test

import (
	"context"
	"fmt"

	"github.com/tetherws/tether"
)

// A chat server behind a password: the Router answers unknown paths
// first, then BasicAuth checks the credentials of the rest, before the
// handshake. The handler finds the user name on the connection. A client
// gives its credentials in DialOptions.Auth (or in the URL); without
// them it gets the 401.
func ExampleChainProcessRequest() {
	var rt tether.Router
	rt.Handle("/rooms/{room}", func(ctx context.Context, c *tether.Conn) error {
		return c.SendText(ctx, c.Username()+" joined "+c.Request().PathValue("room"))
	})
	basic := &tether.BasicAuth{Realm: "chat", Credentials: map[string]string{"alice": "p@ss"}}
	url, stop := listen(&tether.Server{
		Handler: rt.Serve,
		Options: tether.ServerOptions{ProcessRequest: tether.ChainProcessRequest(rt.ProcessRequest, basic.ProcessRequest)},
	})
	defer stop()

	alice := &tether.DialOptions{Auth: &tether.Credentials{Username: "alice", Password: "p@ss"}}
	fmt.Println(firstMessage(url+"rooms/gophers", alice))
	fmt.Println(firstMessage(url+"rooms/gophers", nil))
	fmt.Println(firstMessage(url+"nowhere", alice))
	// Output:
	// alice joined gophers
	// HTTP 401: Missing credentials
	// HTTP 404: Not Found
}

// DigestAuth never sees the password on the wire: the client answers the
// server's challenge with a hash (RFC 7616). DigestOnly keeps the client
// from offering Basic credentials first.
func ExampleDigestAuth() {
	digest := &tether.DigestAuth{Realm: "chat", Credentials: map[string]string{"alice": "s3cret"}}
	url, stop := listen(&tether.Server{
		Handler: func(ctx context.Context, c *tether.Conn) error {
			return c.SendText(ctx, "hello "+c.Username())
		},
		Options: tether.ServerOptions{ProcessRequest: digest.ProcessRequest},
	})
	defer stop()

	creds := &tether.Credentials{Username: "alice", Password: "s3cret", DigestOnly: true}
	fmt.Println(firstMessage(url, &tether.DialOptions{Auth: creds}))
	creds.Password = "guess"
	fmt.Println(firstMessage(url, &tether.DialOptions{Auth: creds}))
	// Output:
	// hello alice
	// HTTP 401: Invalid credentials
}
