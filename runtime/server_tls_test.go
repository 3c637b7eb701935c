package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime/internal/proxytest"
	"github.com/tetherws/tether/ws"
)

// selfSigned returns a server TLS config with the self-signed test
// certificate (for 127.0.0.1 and localhost among others), and a client
// config trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	cert, pool := proxytest.Certificate()
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
}

func TestServeAndDialOverTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler, TLSConfig: serverTLS})
	wss := "wss://" + hostOf(url) + "/secure"
	c := dial(t, wss, &DialOptions{TLSConfig: clientTLS})
	sc := sink.next(t)
	if _, ok := c.NetConn().(*tls.Conn); !ok {
		t.Fatalf("client NetConn is %T", c.NetConn())
	}
	if sc.Request().TLS == nil {
		t.Fatal("server request has no TLS state")
	}
	if err := c.SendText(testCtx(t), "secret"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sc); m.Text() != "secret" {
		t.Fatalf("got %q", m.Data)
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	wantEnd(t, "client", c, "sent 1000 (OK); then received 1000 (OK)", true)
	wantEnd(t, "server", sc, "received 1000 (OK); then sent 1000 (OK)", true)

	// Without the certificate the client refuses the server.
	if _, _, err := Dial(testCtx(t), wss, nil); err == nil {
		t.Fatal("Dial trusted a self-signed certificate")
	}
}

// listenAddr is a slog.Handler that reports the address of the "server
// listening" record.
type listenAddr chan string

func (h listenAddr) Enabled(context.Context, slog.Level) bool { return true }
func (h listenAddr) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h listenAddr) WithGroup(string) slog.Handler            { return h }

func (h listenAddr) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "server listening" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "addr" {
				h <- a.Value.String()
			}
			return true
		})
	}
	return nil
}

// writeKeyPair writes cert and its key as PEM files and returns their
// names.
func writeKeyPair(t *testing.T, cert tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		keyFile:  {Type: "PRIVATE KEY", Bytes: key},
	} {
		if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// ListenAndServeTLS runs TLS once, with the certificate of the files added
// to a copy of TLSConfig, and offers http/1.1 by ALPN.
func TestListenAndServeTLSWithAndWithoutTLSConfig(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	certFile, keyFile := writeKeyPair(t, serverTLS.Certificates[0])
	for name, cfg := range map[string]*tls.Config{
		"no TLSConfig":                    nil,
		"TLSConfig without a certificate": {MinVersion: tls.VersionTLS12},
	} {
		t.Run(name, func(t *testing.T) {
			listening := make(listenAddr, 1)
			sink := newConnSink()
			s := &Server{Handler: sink.handler, TLSConfig: cfg, Options: ServerOptions{Options: Options{Logger: slog.New(listening)}}}
			served := make(chan error, 1)
			go func() { served <- s.ListenAndServeTLS("127.0.0.1:0", certFile, keyFile) }()
			var addr string
			select {
			case addr = <-listening:
			case err := <-served:
				t.Fatalf("ListenAndServeTLS: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("not listening within 5s")
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := s.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				if err := <-served; !errors.Is(err, ErrServerClosed) {
					t.Errorf("ListenAndServeTLS returned %v", err)
				}
			})
			c := dial(t, "wss://"+addr+"/", &DialOptions{TLSConfig: clientTLS})
			tc, ok := c.NetConn().(*tls.Conn)
			if !ok {
				t.Fatalf("client NetConn is %T", c.NetConn())
			}
			if p := tc.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
				t.Fatalf("ALPN protocol %q, want http/1.1", p)
			}
			if cfg != nil && cfg.Certificates != nil {
				t.Fatal("TLSConfig was changed")
			}
			sc := sink.next(t)
			if err := c.SendText(testCtx(t), "over TLS"); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, sc); m.Text() != "over TLS" {
				t.Fatalf("got %q", m.Data)
			}
		})
	}
	err := (&Server{}).ListenAndServeTLS("127.0.0.1:0", certFile, filepath.Join(t.TempDir(), "missing.pem"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "tether: ") {
		t.Fatalf("missing key file: %v", err)
	}
}
