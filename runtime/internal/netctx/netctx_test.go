package netctx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func TestBindFailsIOWhenTheContextEndsAndReleaseClearsIt(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	release := Bind(ctx, a)
	cancel()
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after cancel: %v, want os.ErrDeadlineExceeded", err)
	}
	release()
	go func() { _, _ = b.Write([]byte("x")) }()
	if _, err := a.Read(make([]byte, 1)); err != nil {
		t.Fatalf("Read after release: %v", err)
	}
}

func TestBindTakesTheContextsDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(10*time.Millisecond))
	defer cancel()
	release := Bind(ctx, a)
	defer release()
	if _, err := a.Read(make([]byte, 1)); !IsTimeout(err) {
		t.Fatalf("Read past the deadline: %v, want a timeout", err)
	}
}

// hello runs TLSClient on one end of a pipe against a server that records
// the ClientHello and gives up, and returns the ClientHello, the client's
// end and TLSClient's error.
func hello(t *testing.T, cfg *tls.Config, serverName string, protos ...string) (*tls.ClientHelloInfo, net.Conn, error) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = b.Close() })
	got := make(chan *tls.ClientHelloInfo, 1)
	go func() {
		srv := tls.Server(b, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			got <- h
			return nil, errors.New("no certificate here")
		}})
		_ = srv.Handshake()
	}()
	_, err := TLSClient(context.Background(), a, cfg, serverName, protos...)
	return <-got, a, err
}

func TestTLSClientDefaultsServerNameAndALPNAndClosesOnFailure(t *testing.T) {
	h, nc, err := hello(t, nil, "example.test", "h2")
	if err == nil {
		t.Fatal("handshake with a server that gives up succeeded")
	}
	if h.ServerName != "example.test" || fmt.Sprint(h.SupportedProtos) != "[h2]" {
		t.Fatalf("ClientHello: SNI %q, ALPN %v; want example.test, [h2]", h.ServerName, h.SupportedProtos)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write after a failed handshake: %v, want the connection closed", err)
	}
}

func TestTLSClientKeepsTheCallersSettings(t *testing.T) {
	cfg := &tls.Config{ServerName: "given.test", NextProtos: []string{"http/1.1", "h2"}}
	h, _, _ := hello(t, cfg, "default.test", "h2")
	if h.ServerName != "given.test" || fmt.Sprint(h.SupportedProtos) != "[http/1.1 h2]" {
		t.Fatalf("ClientHello: SNI %q, ALPN %v", h.ServerName, h.SupportedProtos)
	}
	if cfg.ServerName != "given.test" || len(cfg.NextProtos) != 2 {
		t.Fatalf("the caller's config changed: %+v", cfg)
	}
}

func TestTLSConfigDefaultsOnACopy(t *testing.T) {
	got := TLSConfig(nil, "", "http/1.1")
	if got == nil || got.ServerName != "" || fmt.Sprint(got.NextProtos) != "[http/1.1]" {
		t.Fatalf("TLSConfig(nil) = %+v; want a zero config offering http/1.1", got)
	}
	given := &tls.Config{MinVersion: tls.VersionTLS13}
	got = TLSConfig(given, "example.test", "h2")
	if got == given || got.MinVersion != tls.VersionTLS13 || got.ServerName != "example.test" || fmt.Sprint(got.NextProtos) != "[h2]" {
		t.Fatalf("TLSConfig(given) = %+v; want a copy with the defaults filled in", got)
	}
	if given.ServerName != "" || given.NextProtos != nil {
		t.Fatalf("the caller's config changed: %+v", given)
	}
}

func TestIsTimeout(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{os.ErrDeadlineExceeded, true},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), true},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{context.Canceled, false},
		{errors.New("refused"), false},
		{nil, false},
	} {
		if got := IsTimeout(tc.err); got != tc.want {
			t.Errorf("IsTimeout(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
