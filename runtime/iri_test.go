package runtime

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/tetherws/tether/runtime/internal/proxytest"
	"github.com/tetherws/tether/runtime/proxy"
	"github.com/tetherws/tether/ws"
)

const (
	iriHost = "пример.испытание" // an IANA test IDN
	iriACE  = "xn--e1afmkfd.xn--80akhbyknj4f"
)

func TestDialRefusesAnInvalidIDN(t *testing.T) {
	if _, _, err := Dial(testCtx(t), "ws://\u0301abc.испытание/", nil); !errors.Is(err, ws.ErrInvalidURI) {
		t.Errorf("invalid IDN: err = %v", err)
	}
}

// iriEchoServer sends back the Host header, the decoded path and a query
// value.
func iriEchoServer(t *testing.T) string {
	t.Helper()
	u := startServer(t, &Server{Handler: func(ctx context.Context, c *Conn) error {
		r := c.Request()
		for _, s := range []string{r.Host, r.URL.Path, r.URL.Query().Get("ключ")} {
			if err := c.SendText(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}})
	return u[len("ws://") : len(u)-1]
}

func TestDialAnIRIWithNonASCIIHostPathAndQuery(t *testing.T) {
	addr := iriEchoServer(t)
	_, port, _ := net.SplitHostPort(addr)
	check := func(c *Conn, host string) {
		t.Helper()
		for _, want := range []string{host, "/чат/комната", "значение"} {
			if got := recv(t, c).Text(); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	}
	// Directly: DialContext maps the ACE name to the server.
	c := dial(t, "ws://"+iriHost+":"+port+"/чат/комната?ключ=значение", &DialOptions{
		DialContext: dialVia(map[string]string{iriACE + ":" + port: addr}),
	})
	check(c, iriACE+":"+port)
	if got := c.Response().Request.URL.String(); got != "ws://"+iriACE+":"+port+"/%D1%87%D0%B0%D1%82/%D0%BA%D0%BE%D0%BC%D0%BD%D0%B0%D1%82%D0%B0?%D0%BA%D0%BB%D1%8E%D1%87=%D0%B7%D0%BD%D0%B0%D1%87%D0%B5%D0%BD%D0%B8%D0%B5" {
		t.Errorf("request URL %s", got)
	}
	// Through a proxy, which sees the ACE name.
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{Routes: map[string]string{iriACE + ":80": addr}})
	c = dial(t, "ws://"+iriHost+"/чат/комната?ключ=значение", &DialOptions{Proxy: proxy.URL(p.URL(""))})
	check(c, iriACE)
	if got := p.Seen()[0].RequestURI; got != iriACE+":80" {
		t.Errorf("CONNECT %s", got)
	}
}
