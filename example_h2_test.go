package tether_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/tetherws/tether"
	_ "github.com/tetherws/tether/runtime/xconnect" // RFC 8441 in net/http's HTTP/2 server
)

// WebSockets over HTTP/2 (RFC 8441): a Server mounted on a net/http server
// with HTTP/2 takes extended CONNECT requests (with package
// runtime/xconnect imported, or GODEBUG=http2xconnect=1), and Dial with
// HTTP2 sends one, over TLS with ALPN h2 (or h2c for ws:// URLs).
func ExampleDial_http2() {
	srv := &tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		m := <-c.Messages()
		return c.SendText(ctx, "echo over "+c.Request().Proto+": "+m.Text())
	}}
	ts := httptest.NewUnstartedServer(srv)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	ctx := context.Background()
	url := strings.Replace(ts.URL, "https://", "wss://", 1)
	conn, resp, err := tether.Dial(ctx, url, &tether.DialOptions{
		HTTP2:     true,
		TLSConfig: &tls.Config{RootCAs: roots},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close(tether.CloseNormal, "")
	fmt.Println(resp.Proto, resp.Status)
	_ = conn.SendText(ctx, "hello")
	fmt.Println((<-conn.Messages()).Text())
	// Output:
	// HTTP/2.0 200 OK
	// echo over HTTP/2.0: hello
}
