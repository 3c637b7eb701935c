package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/tetherws/tether/ws"
)

func TestProcessRequestCanAnswerInsteadOfUpgrading(t *testing.T) {
	srv := &Server{Handler: echoHandler, Options: ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			if r.URL.Path == "/healthz" {
				return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("OK\n")}, nil
			}
			return nil, nil
		},
	}}
	url := startServer(t, srv)
	resp, err := http.Get("http://" + hostOf(url) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "OK\n" {
		t.Fatalf("health check: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Server") != ws.DefaultUserAgent {
		t.Errorf("Server header %q", resp.Header.Get("Server"))
	}
	c := dial(t, url, nil) // other paths upgrade
	if err := c.SendText(testCtx(t), "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, c)
}

func TestProcessRequestErrorAnswers500(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			return nil, errors.New("database down")
		},
	}})
	_, resp, err := Dial(testCtx(t), url, nil)
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 500 {
		t.Fatalf("Dial = %v", err)
	}
	if string(se.Body) != "Failed to open a WebSocket connection.\nSee server log for more information.\n" {
		t.Fatalf("body %q: the error must not leak", se.Body)
	}
}

func TestProcessRequestCanChangeTheRequestHeaders(t *testing.T) {
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler, Options: ServerOptions{
		Handshake: ws.ServerHandshake{Origins: []string{"https://good.example"}},
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			// A trusted proxy in front rewrites the origin.
			if r.Header.Get("X-Forwarded-Origin") != "" {
				r.Header.Set("Origin", r.Header.Get("X-Forwarded-Origin"))
			}
			r.Header.Set("X-Seen-By-Hook", "yes")
			return nil, nil
		},
	}})
	c := dial(t, url, &DialOptions{Origin: "https://evil.example", Header: http.Header{"X-Forwarded-Origin": {"https://good.example"}}})
	sc := sink.next(t)
	if sc.Request().Header.Get("X-Seen-By-Hook") != "yes" || sc.Request().Header.Get("Origin") != "https://good.example" {
		t.Fatalf("request headers %v", sc.Request().Header)
	}
	c.CloseNow()
}

func TestProcessResponseAltersThe101AndReplacesRejections(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{
		Handshake: ws.ServerHandshake{Origins: []string{"https://good.example"}},
		ProcessResponse: func(ctx context.Context, r *http.Request, resp *Response) (*Response, error) {
			if resp.Status == http.StatusSwitchingProtocols {
				resp.Header.Set("X-Session", "42")
				return nil, nil
			}
			return &Response{Status: http.StatusUnauthorized, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("log in first\n")}, nil
		},
	}})
	c := dial(t, url, &DialOptions{Origin: "https://good.example"})
	if c.Response().Header.Get("X-Session") != "42" {
		t.Fatalf("101 headers %v", c.Response().Header)
	}
	_, resp, err := Dial(testCtx(t), url, &DialOptions{Origin: "https://evil.example"})
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 401 || string(se.Body) != "log in first\n" {
		t.Fatalf("Dial = %v, body %q", err, se.Body)
	}
}

func TestServerHeader(t *testing.T) {
	tests := []struct {
		name string
		opts ServerOptions
		want []string
	}{
		{"default", ServerOptions{}, []string{ws.DefaultUserAgent}},
		{"custom", ServerOptions{ServerHeader: "custom/1.0"}, []string{"custom/1.0"}},
		{"omitted", ServerOptions{OmitServerHeader: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := startServer(t, &Server{Handler: echoHandler, Options: tt.opts})
			c := dial(t, url, nil)
			if got := c.Response().Header.Values("Server"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("101: Server = %q, want %q", got, tt.want)
			}
			resp, _ := rawHTTP(t, hostOf(url), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if got := resp.Header.Values("Server"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("426: Server = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	tests := []struct {
		name    string
		server  []string
		offered []string
		want    string
		status  int // rejection, or 0
	}{
		{"server preference wins", []string{"chat", "superchat"}, []string{"superchat", "chat"}, "chat", 0},
		{"one in common", []string{"chat", "superchat"}, []string{"other", "superchat"}, "superchat", 0},
		{"server has none", nil, []string{"chat"}, "", 0},
		{"client offers none", []string{"chat"}, nil, "", 400},
		{"nothing in common", []string{"chat"}, []string{"other"}, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newConnSink()
			url := startServer(t, &Server{Handler: sink.handler, Options: ServerOptions{Handshake: ws.ServerHandshake{Subprotocols: tt.server}}})
			c, resp, err := Dial(testCtx(t), url, &DialOptions{Subprotocols: tt.offered})
			if tt.status != 0 {
				if err == nil || resp == nil || resp.StatusCode != tt.status {
					t.Fatalf("Dial = %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			sc := sink.next(t)
			if c.Subprotocol() != tt.want || sc.Subprotocol() != tt.want {
				t.Fatalf("client %q, server %q, want %q", c.Subprotocol(), sc.Subprotocol(), tt.want)
			}
		})
	}
}
