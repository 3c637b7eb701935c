package reconnect_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherws/tether/reconnect"
	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

func statusErr(code int) error {
	return &ws.StatusError{Response: &http.Response{StatusCode: code, Header: http.Header{}}}
}

func TestIsRetryableFollowsSpecRetryClasses(t *testing.T) {
	_, uriErr := ws.ParseURI("http://example.com/")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"reset", fmt.Errorf("ws: dial x: %w", syscall.ECONNRESET), true},
		{"dns", &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, true},
		{"open timeout", fmt.Errorf("ws: dial x: %w", context.DeadlineExceeded), true},
		{"i/o timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{"EOF in handshake", &ws.HandshakeError{Msg: "connection closed before the HTTP head: EOF", Err: fmt.Errorf("%w: %w", ws.ErrInvalidMessage, io.EOF)}, true},
		{"unexpected EOF in handshake", &ws.HandshakeError{Msg: "x", Err: fmt.Errorf("%w: %w", ws.ErrInvalidMessage, io.ErrUnexpectedEOF)}, true},
		{"garbage response", &ws.HandshakeError{Msg: "bad status line", Err: ws.ErrInvalidMessage}, false},
		{"head too large", &ws.HandshakeError{Status: 431, Msg: "HTTP head too large", Err: ws.ErrSecurityLimit}, false},
		{"invalid upgrade", &ws.HandshakeError{Msg: "x", Err: ws.ErrInvalidUpgrade}, false},
		{"negotiation", &ws.NegotiationError{Msg: "no subprotocols supported"}, false},
		{"invalid URI", uriErr, false},
		{"429", statusErr(429), true},
		{"500", statusErr(500), true},
		{"502", statusErr(502), true},
		{"503", statusErr(503), true},
		{"504", statusErr(504), true},
		{"301", statusErr(301), false},
		{"400", statusErr(400), false},
		{"401", statusErr(401), false},
		{"403", statusErr(403), false},
		{"404", statusErr(404), false},
		{"501", statusErr(501), false},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false},
		{"wrong host", fmt.Errorf("ws: dial: %w", x509.HostnameError{Host: "x"}), false},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, false},
		{"tls alert", tls.AlertError(40), false},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, false},
		{"connection lost", &ws.CloseError{Cause: io.EOF}, true},
		{"clean close", &ws.CloseError{Rcvd: &ws.CloseFrame{Code: 1000}, Sent: &ws.CloseFrame{Code: 1000}}, true},
		{"canceled", context.Canceled, false},
		{"unknown", errors.New("auth refused"), false},
	} {
		if got := reconnect.IsRetryable(tc.err); got != tc.want {
			t.Errorf("%s: IsRetryable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestIsRetryableOnRealDialErrors classifies what runtime.Dial returns
// against real failing servers.
func TestIsRetryableOnRealDialErrors(t *testing.T) {
	hang := newTestServer(t, nil)
	hang.hangUp(1)
	statusURL := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, http.StatusText(code), code)
		}))
		t.Cleanup(srv.Close)
		return "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	}
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS() // with a certificate nobody trusts
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	// A trusted wss:// server that redirects to ws://: a TLS downgrade.
	downgrade := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ws://"+r.Host+"/", http.StatusFound)
	}))
	downgrade.Config.ErrorLog = log.New(io.Discard, "", 0)
	downgrade.StartTLS()
	t.Cleanup(downgrade.Close)
	trusted := downgrade.Client().Transport.(*http.Transport).TLSClientConfig
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	for _, tc := range []struct {
		name, url string
		want      bool
		o         runtime.DialOptions
	}{
		{"refused", refusedURL(t), true, runtime.DialOptions{}},
		{"closed mid-handshake", hang.url(), true, runtime.DialOptions{}},
		{"503", statusURL(503), true, runtime.DialOptions{}},
		{"401", statusURL(401), false, runtime.DialOptions{}},
		{"untrusted certificate", "wss" + strings.TrimPrefix(tlsSrv.URL, "https") + "/", false, runtime.DialOptions{}},
		{"plain HTTP on wss", "wss" + strings.TrimPrefix(plain.URL, "http") + "/", false, runtime.DialOptions{}},
		{"invalid URL", "http://example.com/", false, runtime.DialOptions{}},
		{"TLS downgrade on redirect", "wss" + strings.TrimPrefix(downgrade.URL, "https") + "/", false, runtime.DialOptions{TLSConfig: trusted}},
		{"open timeout", "ws://" + silent.Addr().String() + "/", true, runtime.DialOptions{Options: runtime.Options{OpenTimeout: 50 * time.Millisecond}}},
	} {
		if tc.o.OpenTimeout == 0 {
			tc.o.OpenTimeout = 5 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _, err := runtime.Dial(ctx, tc.url, &tc.o)
		cancel()
		if err == nil {
			t.Fatalf("%s: Dial succeeded", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
		if got := reconnect.IsRetryable(err); got != tc.want {
			t.Errorf("%s: IsRetryable(%v) = %v, want %v", tc.name, err, got, tc.want)
		}
	}
}

func TestEventStringSaysWhatHappened(t *testing.T) {
	lost := &ws.CloseError{Cause: syscall.ECONNRESET}
	clean := &ws.CloseError{Sent: &ws.CloseFrame{Code: 1000}, Rcvd: &ws.CloseFrame{Code: 1000}, Cause: io.EOF}
	for _, tc := range []struct {
		ev   reconnect.Event
		want string
	}{
		{reconnect.Event{Kind: reconnect.Disconnected, Err: lost, Close: lost}, "disconnected: no close frame received or sent (connection reset by peer)"},
		{reconnect.Event{Kind: reconnect.Disconnected, Close: clean}, "disconnected: sent 1000 (OK); then received 1000 (OK)"},
		{reconnect.Event{Kind: reconnect.Retrying, Delay: 2500 * time.Millisecond, Attempt: 1, Err: lost}, "retrying in 2.5s (attempt 1) after the connection was lost"},
		{reconnect.Event{Kind: reconnect.Retrying, Delay: 3100 * time.Millisecond, Attempt: 2, Err: statusErr(503)}, "retrying in 3.1s (attempt 2): ws: server rejected WebSocket connection: HTTP 503"},
		{reconnect.Event{Kind: reconnect.Stopped}, "stopped"},
		{reconnect.Event{Kind: reconnect.Stopped, Err: errors.New("boom")}, "stopped: boom"},
	} {
		if got := tc.ev.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
