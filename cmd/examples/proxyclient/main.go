package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/proxy"
	"github.com/tetherws/tether/ws"
)

func main() {
	target := flag.String("url", "", "WebSocket URL (empty: loopback demo)")
	proxyURL := flag.String("proxy", "", "proxy URL (empty: from the environment)")
	direct := flag.Bool("direct", false, "connect without any proxy")
	msg := flag.String("msg", "hello through the proxy", "message to send")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if *target == "" {
		err = demo(ctx, os.Stdout)
	} else {
		o := &runtime.DialOptions{}
		switch {
		case *direct:
			o.Proxy = proxy.Direct
		case *proxyURL != "":
			o.Proxy = proxy.URL(*proxyURL)
		}
		err = roundTrip(ctx, os.Stdout, *target, o, *msg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxyclient:", err)
		os.Exit(1)
	}
}

// roundTrip dials target with o, sends msg, prints the reply and closes.
func roundTrip(ctx context.Context, out io.Writer, target string, o *runtime.DialOptions, msg string) error {
	conn, _, err := runtime.Dial(ctx, target, o)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	if err := conn.SendText(ctx, msg); err != nil {
		return err
	}
	select {
	case m, ok := <-conn.Messages():
		if !ok {
			return conn.Err()
		}
		fmt.Fprintf(out, "received: %s\n", m.Data)
	case <-ctx.Done():
		return ctx.Err()
	}
	return conn.Close(ws.CloseNormal, "")
}

// demo runs an echo server and a CONNECT proxy on loopback and connects
// through the proxy.
func demo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	echo := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		for m := range c.Messages() {
			if err := c.Send(ctx, m.Type, m.Data); err != nil {
				return err
			}
		}
		return nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- echo.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = echo.Shutdown(sctx)
		<-served
	}()

	httpProxy, err := startProxy("demo", "s3cret")
	if err != nil {
		return err
	}
	defer httpProxy.close()

	target := "ws://" + ln.Addr().String() + "/"
	fmt.Fprintf(out, "echo server %s, proxy %s\n", target, httpProxy.addr())
	good := &runtime.DialOptions{Proxy: proxy.URL("http://demo:s3cret@" + httpProxy.addr())}
	if err := roundTrip(ctx, out, target, good, "hello through the proxy"); err != nil {
		return err
	}
	bad := &runtime.DialOptions{Proxy: proxy.URL("http://demo:wrong@" + httpProxy.addr())}
	err = roundTrip(ctx, out, target, bad, "never sent")
	if !errors.Is(err, proxy.ErrAuth) {
		return fmt.Errorf("wrong proxy password: got %v", err)
	}
	fmt.Fprintf(out, "wrong password: %v\n", err)
	return nil
}

// demoProxy is a tiny HTTP CONNECT proxy that wants Basic credentials.
type demoProxy struct {
	ln    net.Listener
	authz string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startProxy(user, password string) (*demoProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &demoProxy{
		ln:    ln,
		authz: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)),
		conns: map[net.Conn]struct{}{},
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.track(c)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c)
			}()
		}
	}()
	return p, nil
}

func (p *demoProxy) addr() string { return p.ln.Addr().String() }

func (p *demoProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
}

// close stops the proxy and every tunnel, and waits for them.
func (p *demoProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *demoProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if req.Header.Get("Proxy-Authorization") != p.authz {
		_, _ = io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"demo\"\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", req.RequestURI)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.track(up)
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, br)
		_ = up.Close()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	_ = c.Close()
	<-done
}
