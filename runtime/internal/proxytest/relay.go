package proxytest

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
)

// Relay is a loopback listener whose connections are served by a handler
// in tracked goroutines; the test's Cleanup closes everything and waits.
type Relay struct {
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// StartRelay serves each connection with handle, over TLS (with
// Certificate) when useTLS is set, until the test ends.
func StartRelay(t testing.TB, useTLS bool, handle func(c net.Conn)) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		cert, _ := Certificate()
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	r := &Relay{ln: ln, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !r.track(c) {
				_ = c.Close()
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer r.untrack(c)
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		r.mu.Lock()
		r.closed = true
		for c := range r.conns {
			_ = c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	_ = c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// Addr returns the relay's host:port.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// pipe copies between a client (read through br) and up until either
// ends, then closes both. up is tracked so that Cleanup closes it.
func (r *Relay) pipe(c net.Conn, br io.Reader, up net.Conn) {
	if !r.track(up) {
		_ = up.Close()
		return
	}
	defer r.untrack(up)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, br)
		_ = up.Close()
		_ = c.Close()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	_ = up.Close()
	_ = c.Close()
	<-done
}
