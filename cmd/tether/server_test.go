package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetherws/tether"
)

// startServer serves handler on 127.0.0.1:0 (TLS when tlsCfg is set) with
// a tether.Server and returns its URL; the server is shut down at the end
// of the test.
func startServer(t *testing.T, opts tether.ServerOptions, tlsCfg *tls.Config, handler tether.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &tether.Server{Handler: handler, Options: opts, TLSConfig: tlsCfg}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, tether.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	scheme := "ws://"
	if tlsCfg != nil {
		scheme = "wss://"
	}
	return scheme + ln.Addr().String() + "/"
}

// closeRecorder is a handler that echoes and then reports the close frame
// it received.
func closeRecorder() (tether.Handler, <-chan *tether.CloseFrame) {
	ch := make(chan *tether.CloseFrame, 1)
	return func(ctx context.Context, c *tether.Conn) error {
		err := echo(ctx, c)
		// Messages is closed: the connection has ended.
		ch <- c.CloseStatus().Rcvd
		return err
	}, ch
}

func recvClose(t *testing.T, ch <-chan *tether.CloseFrame) *tether.CloseFrame {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(waitLimit):
		t.Fatal("server connection did not end")
		return nil
	}
}

// selfSigned returns a fresh self-signed certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tether test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// writePEM writes a certificate and its key as PEM files and returns their
// paths.
func writePEM(t *testing.T, cert tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
