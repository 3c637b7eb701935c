package runtime

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime/proxy"
)

// silentListener accepts connections and never answers; it returns its
// address.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, nc := range conns {
				nc.Close()
			}
		}()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, nc)
		}
	}()
	return ln.Addr().String()
}

// The open timeout's error matches os.ErrDeadlineExceeded and
// context.DeadlineExceeded, and is a net.Error timeout, whichever phase
// it cut: the TCP connection, TLS or the HTTP handshake.
func TestOpenTimeoutErrorMatchesBothDeadlineErrors(t *testing.T) {
	addr := silentListener(t)
	_, clientTLS := selfSigned(t)
	blockingDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	for _, tc := range []struct {
		name string
		url  string
		o    DialOptions
	}{
		{"TCP", "ws://" + addr + "/", DialOptions{DialContext: blockingDial, Proxy: proxy.Direct}},
		{"TLS", "wss://" + addr + "/", DialOptions{TLSConfig: clientTLS, Proxy: proxy.Direct}},
		{"HTTP", "ws://" + addr + "/", DialOptions{Proxy: proxy.Direct}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.OpenTimeout = 50 * time.Millisecond
			_, _, err := Dial(context.Background(), tc.url, &o)
			var ne net.Error
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Dial = %v: os.ErrDeadlineExceeded %v, context.DeadlineExceeded %v, net.Error timeout %v",
					err, errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout())
			}
			if !strings.HasPrefix(err.Error(), "tether: timed out during opening handshake: ") {
				t.Fatalf("Dial = %q", err)
			}
		})
	}
}

// A cancelled Dial is not a timeout: it matches context.Canceled and says
// so.
func TestCancelledDialIsNotATimeout(t *testing.T) {
	addr := silentListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err := Dial(ctx, "ws://"+addr+"/", &DialOptions{Proxy: proxy.Direct})
	if !errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want context.Canceled and not a deadline", err)
	}
	if !strings.HasPrefix(err.Error(), "tether: opening handshake canceled (context canceled): ") {
		t.Fatalf("Dial = %q", err)
	}
}
